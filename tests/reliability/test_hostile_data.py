"""Broken, hostile and odd shape files: a folder import never crashes or hangs, names every
skipped file with its reason, and uses the good ones.

tests/test_folder_import.py covers random bytes in .stl/.off/.glb, an empty file, a flat mesh,
bad grids, a cut binvox and unreadable files (chmod as a user, a refused read as root); here
damage to every format, numbers at the limits, links, devices and pipes, and refused folders.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from explorer.cli import main
from trainer.data.binvox import encode_binvox
from trainer.data.folder import MAX_FILE_BYTES, load_folder_with_report
from trainer.data.voxelize import voxelize_mesh

RES = 16
NAN = "NaN or infinite"


def _box(scale: float = 1.0, offset: float = 0.0) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(1.0, 0.6, 0.4))
    box.vertices = box.vertices * scale + offset
    return box


def _export(mesh: trimesh.Trimesh, kind: str) -> bytes:
    if kind == "stl_ascii":
        return trimesh.exchange.stl.export_stl_ascii(mesh).encode()
    if kind == "ply_ascii":
        return trimesh.exchange.ply.export_ply(mesh, encoding="ascii")
    if kind == "gltf":
        return trimesh.exchange.gltf.export_gltf(trimesh.Scene(mesh),
                                                 embed_buffers=True)["model.gltf"]
    data = mesh.export(file_type=kind)
    return data.encode() if isinstance(data, str) else data


def _grid_files() -> dict[str, bytes]:
    grid = np.zeros((RES,) * 3, dtype=np.uint8)
    grid[4:12, 5:11, 6:10] = 1
    npy, npz = io.BytesIO(), io.BytesIO()
    np.save(npy, grid)
    np.savez(npz, occupancy=grid)
    return {"binvox": encode_binvox(grid), "npy": npy.getvalue(), "npz": npz.getvalue()}


MESH_KINDS = {"off": "off", "obj": "obj", "stl": "stl", "stl_ascii": "stl", "ply": "ply",
              "ply_ascii": "ply", "glb": "glb", "gltf": "gltf"}
GOOD = {"good/box.off", "huge/far_away.off", "huge/kilometres.obj", "huge/float32_limit.stl",
        "huge/astronomical.off", "tiny/micrometres.ply", "degenerate/box_with_slivers.obj"}
JUNK = {"gltf": "not a readable GLTF file (not JSON", "npz": "not a zip archive",
        "npy": "not a readable npy file", "binvox": "not a binvox file",
        "glb": "not a readable GLB file", "ply": "not a readable PLY file"}
"""Reasons for random bytes where the format can tell (elsewhere any named reason will do)."""
# file -> words its reason must contain
EXPECTED = {
    "nan/one_vertex.obj": NAN, "nan/all.off": NAN, "nan/ascii.ply": NAN,
    "huge/past_float32.stl": NAN, "huge/inf.obj": NAN,
    "huge/header.npy": "larger than the biggest grid", "huge/header.npz": "larger than",
    "huge/dims.binvox": "larger than the biggest grid",
    "index/past_the_end.ply": "face indices outside the vertex list",
    "index/negative.obj": "not a readable OBJ",
    "degenerate/collinear.obj": "zero area", "degenerate/all_points.off": "zero area",
    "flat/squashed_box.ply": "zero volume", "flat/square.stl": "zero volume",
    "links/self.off": "Too many levels of symbolic links",
    "links/a.off": "Too many levels of symbolic links",
    "links/b.off": "Too many levels of symbolic links",
    "links/dangling.obj": "No such file", "links/zero.stl": "outside the folder",
    "links/pipe.ply": "not a regular file",
    "huge/giant.stl": "file too large (257 MB, the limit is 256 MB)",
}


def _first_vertex(data: bytes, marker: str, replacement: str, after: bool = False) -> str:
    """Text mesh ``data`` with its first vertex line (the line starting with ``marker``, or the
    one after it) replaced."""
    lines = data.decode().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(marker)) + after
    lines[index] = replacement
    return "\n".join(lines) + "\n"


def _write(root: Path, name: str, data: bytes | str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _damaged(root: Path, expected: dict[str, str]) -> None:
    """Every format: random bytes, a cut at a third and at two thirds."""
    rng = np.random.default_rng(9)
    files = {kind: _export(_box(), kind) for kind in MESH_KINDS} | _grid_files()
    for kind, data in files.items():
        suffix = MESH_KINDS.get(kind, kind)
        for label, damaged in [("junk", rng.bytes(700)), ("third", data[: len(data) // 3]),
                               ("two_thirds", data[: 2 * len(data) // 3])]:
            name = f"damaged/{kind}_{label}.{suffix}"
            _write(root, name, damaged)
            expected[name] = JUNK.get(kind, "") if label == "junk" else ""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile")
    expected = dict(EXPECTED)
    _damaged(root, expected)
    _write(root, "good/box.off", _export(_box(), "off"))
    _write(root, "huge/far_away.off", _export(_box(1e3, 1e16), "off"))
    _write(root, "huge/kilometres.obj", _export(_box(1e15), "obj"))
    _write(root, "huge/float32_limit.stl", _export(_box(1e37), "stl"))
    _write(root, "huge/astronomical.off", _export(_box(1e300), "off"))
    _write(root, "tiny/micrometres.ply", _export(_box(1e-9, 1e-9), "ply"))
    slivers = _box()
    slivers = trimesh.Trimesh(slivers.vertices, np.vstack([slivers.faces, [[0, 0, 1], [2, 2, 2]]]),
                              process=False)
    _write(root, "degenerate/box_with_slivers.obj", _export(slivers, "obj"))

    _write(root, "nan/one_vertex.obj", _first_vertex(_export(_box(), "obj"), "v ", "v nan 0 0"))
    _write(root, "nan/all.off", "OFF\n3 1 0\nnan nan nan\nnan 1 0\n0 nan 1\n3 0 1 2\n")
    _write(root, "nan/ascii.ply", _first_vertex(_export(_box(), "ply_ascii"), "end_header",
                                                "nan 0 0", after=True))
    _write(root, "huge/past_float32.stl", _export(_box(1e39), "stl"))
    _write(root, "huge/inf.obj", "v 0 0 0\nv 1 0 0\nv 0 1 inf\nv 0 0 1\nf 1 2 3\nf 1 2 4\n"
                                 "f 1 3 4\nf 2 3 4\n")
    header = ("{'descr': '|u1', 'fortran_order': False, 'shape': (4000, 4000, 4000), }"
              .ljust(117) + "\n")
    _write(root, "huge/header.npy", b"\x93NUMPY\x01\x00v\x00" + header.encode())
    npz = io.BytesIO()
    with zipfile.ZipFile(npz, "w") as archive:
        archive.writestr("occupancy.npy", b"\x93NUMPY\x01\x00v\x00" + header.encode())
    _write(root, "huge/header.npz", npz.getvalue())
    with open(root / "huge" / "giant.stl", "wb") as giant:   # sparse: takes no disk space
        giant.truncate(MAX_FILE_BYTES + 2**20)
    _write(root, "huge/dims.binvox", b"#binvox 1\ndim 100000 100000 100000\ndata\n\x01\xff")
    _write(root, "index/past_the_end.ply",
           "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
           "property float z\nelement face 2\nproperty list uchar int vertex_indices\n"
           "end_header\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 99\n")
    _write(root, "index/negative.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 -9\n")
    _write(root, "degenerate/collinear.obj", "v 0 0 0\nv 1 1 1\nv 2 2 2\nf 1 2 3\nf 3 2 1\n")
    _write(root, "degenerate/all_points.off", "OFF\n3 2 0\n0 0 0\n1 0 0\n0 1 0\n3 0 0 0\n"
                                              "3 1 1 1\n")
    flat = _box()
    flat.vertices[:, 2] = 0.0
    _write(root, "flat/squashed_box.ply", _export(flat, "ply"))
    square = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    _write(root, "flat/square.stl", _export(square, "stl"))

    links = root / "links"
    links.mkdir()
    (links / "self.off").symlink_to("self.off")
    (links / "a.off").symlink_to("b.off")
    (links / "b.off").symlink_to("a.off")
    (links / "dangling.obj").symlink_to("missing.obj")
    (links / "zero.stl").symlink_to("/dev/zero")
    (links / "up").symlink_to("..")   # a folder loop: links to folders are not followed
    os.mkfifo(links / "pipe.ply")     # reading it would block forever
    return root, expected


@pytest.fixture(scope="module")
def imported(corpus, tmp_path_factory):
    root, _ = corpus
    return load_folder_with_report(root, RES, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.timeout(120)
def test_every_bad_file_is_named_with_its_reason(corpus, imported) -> None:
    _, expected = corpus
    _, report = imported
    failed = {f.path: f.reason for f in report.failed}
    assert set(failed) == set(expected)
    for name, words in expected.items():
        assert words in failed[name], (name, failed[name])
        assert failed[name] and "unexpected error" not in failed[name], (name, failed[name])
    summary = report.summary(max_listed=1000)
    assert all(f"  {name}: " in summary for name in expected)


def test_the_good_files_are_used(imported) -> None:
    shapes, report = imported
    assert set(report.files) == GOOD
    assert len(shapes) == len(GOOD) and shapes.grids.any(axis=(1, 2, 3, 4)).all()
    reference = voxelize_mesh(_box(), RES)
    grids = {name: shapes.grids[i, 0] for i, name in enumerate(report.files)}
    for name in ("good/box.off", "huge/far_away.off", "huge/kilometres.obj",
                 "huge/float32_limit.stl", "huge/astronomical.off",
                 "tiny/micrometres.ply"):   # any unit, any offset
        np.testing.assert_array_equal(grids[name], reference, err_msg=name)


def test_a_refused_sub_folder_is_reported_and_the_rest_imported(tmp_path, monkeypatch) -> None:
    """Simulated, so that it runs as root too (tests/test_folder_import.py has the chmod one)."""
    _write(tmp_path, "a/box.off", _export(_box(), "off"))
    _write(tmp_path, "locked/box.off", _export(_box(), "off"))
    scandir = os.scandir

    def refuse_locked(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    shapes, report = load_folder_with_report(tmp_path, RES, cache_dir=tmp_path / "cache")
    assert report.files == ("a/box.off",) and len(shapes) == 1
    assert [(f.path, f.reason) for f in report.failed] == [
        ("locked/", "cannot read folder: Permission denied")]


def test_cli_names_the_reasons_when_nothing_is_usable(corpus, tmp_path, capsys) -> None:
    root, _ = corpus
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("nan/all.off", "flat/squashed_box.ply", "huge/header.npy"):
        (bad / Path(name).name).write_bytes((root / name).read_bytes())
    assert main(["train", "--data", str(bad), "--resolution", "16", "--epochs", "1",
                 "--checkpoint", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: None of the 3 shape files") and "zero volume" in err
    assert not (tmp_path / "m.pt").exists()
