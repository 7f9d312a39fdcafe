"""`shape-latent-explorer PATH` routing, `--version`, the `encode` command and the safetensors
round trip (every command opens an exported file; files of other programs are refused)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from safetensors import safe_open
from safetensors.torch import save_file

from explorer import __version__, entry
from explorer.cli import build_parser
from explorer.cli import main as cli_main
from explorer.encode import file_grids
from explorer.session import ExplorerSession
from trainer.checkpoint import FORMAT_VERSION, Checkpoint, load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.errors import CheckpointError
from trainer.model import VAE

CONFIG = TrainConfig(resolution=16, latent_dim=12, channels=(2, 4, 4, 8), epochs=3)


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    torch.manual_seed(0)
    ckpt = Checkpoint(config=CONFIG, model_state=VAE.from_config(CONFIG).state_dict(), epoch=3,
                      class_names=("chair", "table"))
    return save_checkpoint(tmp_path / "run.pt", ckpt)


@pytest.fixture
def meshes(tmp_path) -> list[Path]:
    paths = [tmp_path / "box.stl", tmp_path / "ball.obj"]
    trimesh.creation.box(extents=(0.9, 0.5, 0.4)).export(paths[0])
    trimesh.creation.icosphere(subdivisions=2).export(paths[1])
    return paths


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    return err


@pytest.fixture
def gui(monkeypatch) -> list[Path | None]:
    """Record what the GUI would be opened on instead of opening it."""
    opened: list[Path | None] = []
    import explorer.ui.app as app

    monkeypatch.setattr(app, "run_app", lambda open_path=None: opened.append(open_path) or 0)
    return opened


def test_a_path_opens_the_gui_on_it_and_a_command_stays_a_command(
        gui, checkpoint, meshes, tmp_path, capsys) -> None:
    for path in (checkpoint, meshes[0], tmp_path):
        assert entry.main([str(path)]) == 0
    assert entry.main([]) == 0
    assert gui == [checkpoint, meshes[0], tmp_path, None]

    (tmp_path / "info").mkdir()   # a folder named like a command does not hide the command
    assert entry.main(["info", str(checkpoint)]) == 0
    assert "checkpoint" in capsys.readouterr().out and len(gui) == 4


@pytest.mark.parametrize("name, words", [
    ("missing.pt", "no such file or folder"),
    ("notes.txt", "cannot open .txt files"),
])
def test_a_path_that_cannot_be_opened_is_a_one_line_error(
        gui, tmp_path, name, words, capsys) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert entry.main([str(tmp_path / name)]) == 2
    assert words in _error_line(capsys) and gui == []


def test_the_entry_knows_every_command() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(entry.COMMANDS) == set(sub.choices)


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        entry.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"shape-latent-explorer {__version__}"


def test_encode_writes_posterior_means_and_reconstructions(
        checkpoint, meshes, tmp_path, capsys) -> None:
    out, recon = tmp_path / "codes.npy", tmp_path / "recon"
    assert cli_main(["encode", *map(str, meshes), "--checkpoint", str(checkpoint),
                     "--out", str(out), "--reconstruct", str(recon), "--format", "obj"]) == 0
    codes = np.load(out)
    session = ExplorerSession.from_checkpoint(checkpoint)
    grids = file_grids(session, meshes)
    assert grids.shape == (2, 16, 16, 16) and grids.max() == 1.0
    with torch.no_grad():
        mu, _ = session.model.encode(torch.from_numpy(grids[:, None]))
    np.testing.assert_allclose(codes, mu.numpy(), rtol=1e-4, atol=1e-5)
    written = sorted(p.name for p in recon.iterdir())
    printed = capsys.readouterr()
    assert "wrote 2 codes of size 12" in printed.out
    assert len(written) + printed.err.count("no surface") == 2   # an untrained decoder
    assert all(name in ("000_box.obj", "001_ball.obj") for name in written)


def test_encode_refines_codes_on_request(checkpoint, meshes, tmp_path, capsys) -> None:
    session = ExplorerSession.from_checkpoint(checkpoint)
    grids = file_grids(session, meshes)
    out = tmp_path / "refined.npy"
    assert cli_main(["encode", *map(str, meshes), "--checkpoint", str(checkpoint),
                     "--out", str(out), "--refine", "8"]) == 0
    refined, plain = np.load(out), session.encode(grids)
    np.testing.assert_allclose(refined, session.encode(grids, refine=8), atol=1e-4)
    assert np.abs(refined - plain).max() > 1e-2
    assert cli_main(["encode", str(meshes[0]), "--checkpoint", str(checkpoint),
                     "--out", str(tmp_path / "x.npy"), "--refine", "-2"]) == 2
    assert "refinement steps must be 0..1000" in _error_line(capsys)


def test_encode_refuses_a_bad_file_in_one_line(checkpoint, meshes, tmp_path, capsys) -> None:
    bad = tmp_path / "broken.stl"
    bad.write_bytes(b"\x00\x01garbage")
    out = tmp_path / "codes.npy"
    assert cli_main(["encode", str(meshes[0]), str(bad), "--checkpoint", str(checkpoint),
                     "--out", str(out)]) == 2
    assert "broken.stl" in _error_line(capsys) and not out.exists()


def test_safetensors_round_trip_through_every_command(checkpoint, meshes, tmp_path,
                                                      capsys) -> None:
    weights = tmp_path / "w.safetensors"
    assert cli_main(["export-weights", str(checkpoint), str(weights)]) == 0
    with safe_open(str(weights), framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["class_names"]) == ["chair", "table"]
    assert int(meta["version"]) == FORMAT_VERSION and json.loads(meta["config"])["latent_dim"] == 12

    original, loaded = load_checkpoint(checkpoint), load_checkpoint(weights)
    assert loaded.config == original.config and loaded.class_names == ("chair", "table")
    assert loaded.epoch == 3 and loaded.optimizer_state is None
    for name, tensor in original.model_state.items():
        torch.testing.assert_close(loaded.model_state[name], tensor)

    capsys.readouterr()
    assert cli_main(["info", str(weights)]) == 0
    assert "chair, table" in capsys.readouterr().out
    assert cli_main(["sample", str(weights), "--n", "2", "--out", str(tmp_path / "s"),
                     "--threshold", "0.3"]) == 0
    assert cli_main(["encode", str(meshes[0]), "--checkpoint", str(weights),
                     "--out", str(tmp_path / "c.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), _codes(checkpoint, meshes[0]))


def _codes(checkpoint: Path, mesh: Path) -> np.ndarray:
    session = ExplorerSession.from_checkpoint(checkpoint)
    return session.encode(file_grids(session, [mesh])).astype(np.float32)


def test_a_foreign_safetensors_file_is_refused_in_one_line(tmp_path, capsys) -> None:
    foreign = tmp_path / "model.safetensors"
    save_file({"encoder.weight": torch.zeros(3, 3)}, foreign)
    assert cli_main(["info", str(foreign)]) == 2
    assert "not a Shape Latent Explorer checkpoint" in _error_line(capsys)


def test_safetensors_with_wrong_tensors_is_refused_in_one_line(checkpoint, tmp_path,
                                                               capsys) -> None:
    other = CONFIG.with_overrides(latent_dim=16)
    weights = tmp_path / "w.safetensors"
    assert cli_main(["export-weights", str(checkpoint), str(weights)]) == 0
    with safe_open(str(weights), framework="pt") as f:
        meta = {**f.metadata(), "config": json.dumps(other.to_dict())}
    save_file(load_checkpoint(checkpoint).model_state, weights, metadata=meta)
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(weights)
    assert cli_main(["sample", str(weights)]) == 2
    assert "weights do not match" in _error_line(capsys)
