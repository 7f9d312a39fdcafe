"""Small files that claim gigabytes or hours: each is refused before the work, within the budgets
of trainer/budgets.py. The bombs run in a child process that reports its own peak memory
(ru_maxrss); the pipe and the dense mesh run under a timeout.

Peak memory is the child's VmHWM (/proc/self/status): it starts afresh at exec, whereas
ru_maxrss keeps the forking parent's resident size.

The files are made here, small on disk: a deflate stream of zeros is one compressed block
repeated (each block is independent after a full flush), so gigabytes inflate from a few MB.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from explorer.cli import main
from explorer.session import ExplorerSession
from trainer import budgets
from trainer.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.folder import load_folder_with_report
from trainer.errors import CheckpointError, DataError
from trainer.model import VAE

REPO = Path(__file__).resolve().parents[2]
TINY = TrainConfig(resolution=16, latent_dim=12, channels=(2, 4, 4, 8), batch_size=4, epochs=1,
                   dataset_size=12, seed=2)
BOMB_BYTES = 5 * 2**29   # 2.5 GiB once inflated
PEAK_LIMIT_MIB = 768   # what a refused bomb may cost, imports (torch) included
CHILD = """
import json, time
start = time.monotonic()
try:
    from trainer.checkpoint import load_checkpoint
    from trainer.data.folder import load_folder_with_report
    result = repr({call})[:300]
except Exception as exc:
    result = f"{{type(exc).__name__}}: {{exc}}"[:600]
with open("/proc/self/status") as status:
    peak_kib = int(next(line for line in status if line.startswith("VmHWM")).split()[1])
print(json.dumps({{"result": result, "seconds": time.monotonic() - start,
                  "peak_mib": peak_kib / 1024}}))
"""


def run_child(call: str, timeout: float = 60, cwd: Path = REPO) -> dict:
    """Run ``call`` (an expression) in a fresh interpreter; its outcome, time and peak memory."""
    done = subprocess.run([sys.executable, "-c", CHILD.format(call=call)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(cwd)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def deflated_zeros(prefix: bytes, zeros: int) -> bytes:
    """A raw deflate stream of ``prefix`` then ``zeros`` zero bytes, about zeros / 1000 long."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    chunk = 1 << 24
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(zeros, chunk)
    return head + block * count + compressor.compress(bytes(rest)) + compressor.flush()


def write_zip(path: Path, stored: dict[str, bytes], bombs: dict[str, tuple[bytes, int]]) -> Path:
    """A zip of ``stored`` members and deflated ``bombs`` (name -> (prefix, zeros)); a bomb's
    CRC is left 0: the refusal must come before anything is inflated."""
    out, central = bytearray(), bytearray()
    entries = [(n, 0, data, zlib.crc32(data), len(data)) for n, data in stored.items()]
    entries += [(n, 8, deflated_zeros(p, z), 0, len(p) + z) for n, (p, z) in bombs.items()]
    for name, method, payload, crc, size in entries:
        offset, raw = len(out), name.encode()
        fields = (method, 0, 0, crc, len(payload), size, len(raw), 0)
        out += struct.pack("<IHH" + "HHHIIIHH", 0x04034B50, 20, 0, *fields) + raw + payload
        central += struct.pack("<IHHH" + "HHHIIIHH" + "HHHII", 0x02014B50, 20, 20, 0, *fields,
                               0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".ljust(117)
    return b"\x93NUMPY\x01\x00v\x00" + text.encode() + b"\n"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("budget-ckpt")
    return save_checkpoint(folder / "tiny.pt", Checkpoint(
        config=TINY, model_state=VAE.from_config(TINY).state_dict()))


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _raw(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def _save_raw(path: Path, raw: dict) -> Path:
    torch.save(raw, path)
    return path


# ---- checkpoints ------------------------------------------------------------------------------

def make_checkpoint_bomb(checkpoint: Path, out: Path) -> Path:
    """The tiny checkpoint with its first weight tensor as a 2.5 GiB deflated entry."""
    members = _members(checkpoint)
    storage = next(n for n in members if "/data/" in n)
    stored = {n: d for n, d in members.items() if n != storage}
    return write_zip(out, stored, {storage: (b"", BOMB_BYTES)})


def make_history_bomb(checkpoint: Path, out: Path) -> Path:
    """A checkpoint whose history has 9 million entries (a 20 MB pickle, deflated to 60 kB)."""
    raw = _raw(checkpoint)
    raw["history"] = [0] * 9_000_000
    buffer = io.BytesIO()
    torch.save(raw, buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    return out


def make_largest_model(checkpoint: Path, out: Path) -> Path:
    """A few kB naming the largest model the config allows (hundreds of millions of weights)."""
    raw = _raw(checkpoint)
    raw["config"].update(resolution=64, channels=[1024] * 4, latent_dim=1024)
    raw["optimizer"] = None
    return _save_raw(out, raw)


@pytest.mark.parametrize("make, words", [
    (make_checkpoint_bomb, "inflate to 2.5 GiB, over the 2.0 GiB limit"),
    (make_history_bomb, "pickled part"),
    (make_largest_model, "weights do not match its model configuration"),
])
def test_checkpoint_bombs_are_refused_within_the_memory_budget(checkpoint, tmp_path, make,
                                                               words) -> None:
    bomb = make(checkpoint, tmp_path / "bomb.pt")
    assert bomb.stat().st_size < 4 * 2**20
    child = run_child(f"load_checkpoint({str(bomb)!r})")
    assert "CheckpointError" in child["result"] and words in child["result"], child
    assert child["peak_mib"] < PEAK_LIMIT_MIB, child


def test_a_history_longer_than_the_run_is_refused(checkpoint, tmp_path) -> None:
    raw = _raw(checkpoint)
    raw["history"] = [{}] * 3
    with pytest.raises(CheckpointError, match="history has 3 entries for a run of 1 epochs"):
        load_checkpoint(_save_raw(tmp_path / "long.pt", raw))


def test_a_config_whose_data_set_exceeds_the_budget_is_refused(checkpoint, tmp_path) -> None:
    raw = _raw(checkpoint)
    raw["config"].update(dataset_size=1_000_000, resolution=64)
    with pytest.raises(CheckpointError, match=r"1000000 shapes at 64\^3 need 244.1 GiB"):
        load_checkpoint(_save_raw(tmp_path / "huge_data.pt", raw))


def test_class_names_must_be_a_list_of_text(checkpoint, tmp_path) -> None:
    raw = _raw(checkpoint)
    raw["class_names"] = "abc"
    with pytest.raises(CheckpointError, match="class names must be a list of text"):
        load_checkpoint(_save_raw(tmp_path / "names.pt", raw))


def test_not_a_file_says_what_it_is(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe.pt")
    (tmp_path / "device.pt").symlink_to("/dev/null")
    (tmp_path / "folder.pt").mkdir()
    for name, words in [("pipe.pt", "is a pipe (FIFO)"), ("device.pt", "is a device"),
                        ("folder.pt", "is a folder"), ("missing.pt", "no such checkpoint")]:
        with pytest.raises(CheckpointError, match=words.replace("(", r"\(").replace(")", r"\)")):
            load_checkpoint(tmp_path / name)


class _TorchCall:
    """Pickles as a call of a function in torch's namespace (one that fetches and runs code)."""

    def __reduce__(self):
        return (torch.hub.load, ("owner/repo", "model"))


def test_a_torch_namespace_payload_could_run_code(checkpoint, tmp_path) -> None:
    raw = _raw(checkpoint)
    raw["epoch"] = _TorchCall()
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(_save_raw(tmp_path / "payload.pt", raw))


# ---- shape files ------------------------------------------------------------------------------

def make_npz_bomb(root: Path) -> Path:
    """A 1 MB .npz whose float64 512^3 member inflates to 1 GiB."""
    return write_zip(root / "bomb.npz", {}, {"occupancy.npy": (npy_header("<f8", (512,) * 3),
                                                                2**30)})


def make_gltf_fan_out(root: Path) -> Path:
    """A .gltf naming one 100 MB file (sparse) as five buffers."""
    with open(root / "big.bin", "wb") as big:
        big.truncate(100 * 2**20)
    gltf = {"asset": {"version": "2.0"},
            "buffers": [{"uri": "big.bin", "byteLength": 100 * 2**20}] * 5}
    (root / "fan.gltf").write_text(json.dumps(gltf))
    return root / "fan.gltf"


@pytest.mark.parametrize("make, words", [
    (make_npz_bomb, "inflates to 1.0 GiB, over the 512 MiB limit for a grid"),
    (make_gltf_fan_out, "glTF buffers it names take more than 256 MB"),
])
def test_shape_file_bombs_are_refused_within_the_memory_budget(tmp_path, make, words) -> None:
    root = tmp_path / "data"
    root.mkdir()
    make(root)
    child = run_child(f"load_folder_with_report({str(root)!r}, 16, "
                      f"cache_dir=__import__('pathlib').Path({str(tmp_path / 'cache')!r}))")
    assert child["result"].startswith(("DataError", "NothingImported")), child  # a DataError
    assert words in child["result"], child
    assert child["peak_mib"] < PEAK_LIMIT_MIB, child


def test_npy_header_counts_bytes_not_only_elements(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "wide.npy").write_bytes(npy_header("<c16", (400,) * 3))
    with pytest.raises(DataError, match=r"npy: an array of shape \(400, 400, 400\) and type "
                                        "complex128 takes 977 MiB, over the 512 MiB limit"):
        load_folder_with_report(tmp_path / "d", 16, cache_dir=tmp_path / "cache")


def _glb_with_buffer_uri(uri: str) -> bytes:
    glb = trimesh.creation.box().export(file_type="glb")
    length = struct.unpack_from("<I", glb, 12)[0]
    document = json.loads(glb[20:20 + length])
    document["buffers"][0]["uri"] = uri
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    rest = glb[20 + length:]
    return struct.pack("<4sII", b"glTF", 2, 20 + len(text) + len(rest)) + \
        struct.pack("<I4s", len(text), b"JSON") + text + rest


def test_a_buffer_naming_a_pipe_is_refused_not_waited_on(tmp_path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    os.mkfifo(root / "pipe.bin")
    (root / "box.glb").write_bytes(_glb_with_buffer_uri("pipe.bin"))
    child = run_child(f"load_folder_with_report({str(root)!r}, 16, "
                      f"cache_dir=__import__('pathlib').Path({str(tmp_path / 'c')!r}))",
                      timeout=budgets.INPUT_SECONDS)
    assert "pipe.bin: not a regular file" in child["result"], child


def test_nothing_outside_the_folder_is_read(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    box = trimesh.creation.box()
    (outside / "box.off").write_bytes(box.export(file_type="off").encode())
    gltf = trimesh.exchange.gltf.export_gltf(trimesh.Scene(box))
    (outside / "model.bin").write_bytes(next(v for k, v in gltf.items() if k.endswith(".bin")))
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "good.off").write_bytes(box.export(file_type="off").encode())
    (root / "a" / "link.off").symlink_to(outside / "box.off")
    document = json.loads(gltf["model.gltf"])
    for name, uri in [("up", "../../outside/model.bin"), ("etc", "/etc/passwd"),
                      ("quoted", "..%2F..%2Foutside%2Fmodel.bin")]:
        document["buffers"][0]["uri"] = uri
        (root / "a" / f"{name}.gltf").write_text(json.dumps(document))
    _, report = load_folder_with_report(root, 16, cache_dir=tmp_path / "cache")
    failed = {f.path: f.reason for f in report.failed}
    assert report.files == ("a/good.off",)
    assert "outside the folder" in failed["a/link.off"]
    for name in ("up", "etc", "quoted"):
        assert "lies outside the data folder" in failed[f"a/{name}.gltf"], failed


def _overlapping_obj(faces: int) -> bytes:
    """Triangles between the corners of a cube, each spanning the grid."""
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T
    rng = np.random.default_rng(0)
    triples = np.array([rng.choice(8, 3, replace=False) for _ in range(64)]) + 1
    lines = [f"v {x} {y} {z}" for x, y, z in corners]
    lines += [f"f {a} {b} {c}" for a, b, c in triples[np.arange(faces) % 64]]
    return ("\n".join(lines) + "\n").encode()


def test_a_dense_overlapping_mesh_is_refused_quickly(tmp_path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "dense.obj").write_bytes(_overlapping_obj(150_000))
    child = run_child(f"load_folder_with_report({str(root)!r}, 32, "
                      f"cache_dir=__import__('pathlib').Path({str(tmp_path / 'c')!r}))",
                      timeout=60)
    assert "too costly to voxelise at 32^3" in child["result"], child
    assert child["seconds"] < budgets.INPUT_SECONDS / 2, child


def test_face_count_is_checked_before_parsing(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(budgets, "MESH_FACES", 1000)
    root = tmp_path / "data"
    root.mkdir()
    (root / "many.obj").write_bytes(_overlapping_obj(1001))
    with pytest.raises(DataError, match="1,001 faces, over the limit of 1,000"):
        load_folder_with_report(root, 16, cache_dir=tmp_path / "cache")


def test_sample_decodes_in_batches(checkpoint, tmp_path, monkeypatch, capsys) -> None:
    sizes: list[int] = []
    decode = ExplorerSession.decode
    monkeypatch.setattr(ExplorerSession, "decode",
                        lambda self, z: sizes.append(len(z)) or decode(self, z))
    n = budgets.DECODE_BATCH + 3
    assert main(["sample", str(checkpoint), "--n", str(n), "--out", str(tmp_path / "s"),
                 "--format", "off", "--threshold", "0.01"]) == 0
    assert sizes == [budgets.DECODE_BATCH, 3]
    numbers = [int(w) for w in capsys.readouterr().out.replace("(", " ").split() if w.isdigit()]
    assert numbers[0] + (numbers[1] if len(numbers) > 1 else 0) == n   # written + empty
