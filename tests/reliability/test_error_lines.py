"""Every command-line failure is one bounded, escaped line `error: ...` and exit status 2, and
odd but valid mesh text loads; tests/reliability/test_budgets.py holds the resource bombs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trimesh

from explorer.cli import main
from trainer import budgets
from trainer import cli as trainer_cli
from trainer.checkpoint import Checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data import sources
from trainer.data.mesh_files import read_mesh
from trainer.data.procedural import make_procedural
from trainer.errors import DataError, ShapeExplorerError
from trainer.loop import Trainer
from trainer.model import VAE

REPO = Path(__file__).resolve().parents[2]
TINY = TrainConfig(resolution=16, latent_dim=12, channels=(2, 4, 4, 8), batch_size=4, epochs=1,
                   dataset_size=12, seed=2)
LONG = "x" * 300   # a path component past NAME_MAX (255)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lines")
    return save_checkpoint(folder / "tiny.pt", Checkpoint(
        config=TINY, model_state=VAE.from_config(TINY).state_dict()))


@pytest.fixture
def no_work(monkeypatch, tmp_path):
    """Built-in data and training fail the test: every refusal must come before them."""
    def never(*_args, **_kwargs):
        raise AssertionError("reached data loading or training")

    monkeypatch.setattr(sources, "load_shapes", never)
    monkeypatch.setattr(trainer_cli, "Trainer", never)
    monkeypatch.chdir(tmp_path)


def one_error_line(capsys) -> str:
    """The last line of stderr (progress lines may come before it), checked."""
    err = capsys.readouterr().err
    lines = err.rstrip("\n").split("\n")
    assert lines[-1].startswith("error: "), err[:2000]
    assert not any(line.startswith("error") for line in lines[:-1]), err[:2000]
    assert len(lines[-1]) <= budgets.ERROR_CHARS and lines[-1].isprintable(), lines[-1]
    return lines[-1]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_long_path_components(no_work, capsys, tmp_path, checkpoint) -> None:
    for argv in (["info", f"{tmp_path}/{LONG}.pt"], ["train", "--data", f"{tmp_path}/{LONG}"],
                 ["train", "--resume", f"{tmp_path}/{LONG}.pt"],
                 ["train", "--config", f"{tmp_path}/{LONG}.toml"],
                 ["sample", str(checkpoint), "--out", f"{tmp_path}/{LONG}/x"]):
        assert main(argv) == 2, argv
        assert "too long" in one_error_line(capsys), argv


@pytest.mark.parametrize("name, text, words", [
    ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("digits.json", '{"seed": ' + "9" * 5000 + "}", "Exceeds the limit (4300 digits)"),
    ("array.toml", "channels = [" + "1, " * 200_000 + "]", "channels must be 4 values"),
    ("big.toml", "# " + "x" * budgets.CONFIG_BYTES, "over the 1 MiB limit"),
])
def test_hostile_config_files(no_work, capsys, tmp_path, name, text, words) -> None:
    path = _write(tmp_path / name, text)
    assert main(["train", "--config", str(path)]) == 2
    assert words in one_error_line(capsys)


def test_resolution_times_dataset_size_is_checked(no_work, capsys) -> None:
    assert main(["train", "--resolution", "64", "--dataset-size", "1000000"]) == 2
    assert "1000000 shapes at 64^3 need 244.1 GiB of memory" in one_error_line(capsys)


def test_a_model_over_the_parameter_budget_is_refused_before_building(no_work, capsys,
                                                                      tmp_path) -> None:
    config = _write(tmp_path / "big.toml", "channels = [1024, 1024, 1024, 1024]\n")
    assert main(["train", "--config", str(config), "--resolution", "64"]) == 2
    assert "million parameters, over the 64 million limit" in one_error_line(capsys)


@pytest.mark.parametrize("flag", ["--metrics", "--checkpoint"])
def test_outputs_are_checked_before_the_first_epoch(no_work, capsys, tmp_path, flag) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    assert main(["train", flag, str(tmp_path / "dir")]) == 2
    assert "is a folder; give a file path" in one_error_line(capsys)
    assert main(["train", flag, str(tmp_path / "file" / "x.jsonl")]) == 2
    assert "Not a directory" in one_error_line(capsys)


@pytest.mark.parametrize("flags, words", [
    (["--seed", "-1"], "--seed must be 0..2^63-1"),
    (["--n", "1" * 23], "--n must be 1..1024, got " + "1" * 23),
    (["--n", "0"], "--n must be 1..1024"),
    (["--temperature", "nan"], "--temperature must be a finite number"),
    (["--temperature", "inf"], "--temperature must be a finite number"),
])
def test_sample_arguments_are_checked_before_loading(capsys, tmp_path, flags, words) -> None:
    assert main(["sample", str(tmp_path / "missing.pt"), *flags]) == 2
    assert words in one_error_line(capsys)


def test_resume_does_not_walk_the_checkpoints_data_path(no_work, capsys, tmp_path) -> None:
    config = TrainConfig(**{**TINY.to_dict(), "channels": TINY.channels, "data": "/etc"})
    path = save_checkpoint(tmp_path / "etc.pt", Checkpoint(
        config=config, model_state=VAE.from_config(config).state_dict()))
    for argv in (["train", "--resume", str(path)], ["ppca", "--compare", str(path)]):
        assert main(argv) == 2
        assert "trained on the folder /etc; give --data" in one_error_line(capsys)


def test_names_are_escaped_under_a_strict_utf8_terminal(tmp_path) -> None:
    names = ["caf\udce9", "\x1b[31mred\nerror: forged"]
    path = save_checkpoint(tmp_path / "names.pt", Checkpoint(
        config=TINY, model_state=VAE.from_config(TINY).state_dict(), class_names=tuple(names)))
    done = subprocess.run([sys.executable, "main.py", "info", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "caf\\udce9, \\x1b[31mred\\nerror: forged" in done.stdout
    assert "\x1b" not in done.stdout and "\nerror:" not in done.stdout


def test_gui_messages_are_bounded_and_escaped() -> None:
    from explorer.ui.background import error_message

    message = error_message(DataError("bad \x1b[2J\nname " + "y" * 5000))
    assert message.startswith("bad \\x1b[2J\\nname y") and "y...y" in message
    assert len(message) == budgets.ERROR_CHARS and message.isprintable()


# ---- mesh text --------------------------------------------------------------------------------

BOX = trimesh.creation.box()


def _latin1(kind: str) -> bytes:
    if kind == "obj":
        return b"# caf\xe9\n" + BOX.export(file_type="obj").encode()
    if kind == "off":
        return BOX.export(file_type="off").encode().replace(b"OFF\n", b"OFF\n# caf\xe9\n", 1)
    if kind == "stl":
        return b"solid caf\xe9\n" + trimesh.exchange.stl.export_stl_ascii(BOX).encode() \
            .split(b"\n", 1)[1]
    ply = trimesh.exchange.ply.export_ply(BOX, encoding="ascii" if kind == "ply" else "binary")
    return ply.replace(b"end_header", b"comment caf\xe9\nend_header", 1)


@pytest.mark.parametrize("kind", ["obj", "off", "stl", "ply", "binary.ply"])
def test_text_meshes_with_latin1_bytes_load(kind) -> None:
    mesh = read_mesh(Path(f"box.{kind}"), _latin1(kind))
    assert len(mesh.faces) == 12


@pytest.mark.parametrize("name, data, words", [
    ("cut.stl", trimesh.exchange.stl.export_stl(BOX)[:-30],
     "as binary STL its 654 bytes do not match the 12 triangles its header names (684 bytes)"),
    ("short.stl", b"\x00" * 40, "shorter than a binary STL header"),
    ("zero.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 0 1 2\nf 1 2 3\n",
     "OBJ face index 0"),
    ("max.off", b"OFF\n4 4 0\n-1.7e308 -1.7e308 -1.7e308\n1.7e308 -1.7e308 -1.7e308\n"
     b"-1.7e308 1.7e308 -1.7e308\n-1.7e308 -1.7e308 1.7e308\n3 0 2 1\n3 0 1 3\n3 0 3 2\n"
     b"3 1 2 3\n", "coordinates too large"),
])
def test_malformed_meshes_get_a_real_reason(name, data, words) -> None:
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_mesh(Path(name), data)


def test_a_checkpoint_is_not_read_from_a_folder_path_in_info(capsys, tmp_path) -> None:
    assert main(["info", str(tmp_path)]) == 2
    assert "is a folder, not a checkpoint file" in one_error_line(capsys)



def test_the_trainer_itself_refuses_a_model_over_budget() -> None:
    """The GUI builds its Trainer directly; the parameter budget holds there too."""
    config = TrainConfig(resolution=16, channels=(1024,) * 4, latent_dim=12, dataset_size=12)
    with pytest.raises(ShapeExplorerError, match="million parameters, over the 64 million"):
        Trainer(config, *make_procedural(12, 16, 1).split(0.25, 1))


@pytest.mark.parametrize("argv", [["train", "--bogus", "1"], ["train", "--epochs", "abc"],
                                  ["sample"], ["no-such-command", "x"]])
def test_usage_errors_are_one_error_line_too(argv, capsys) -> None:
    from explorer.cli import main as cli_main

    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
