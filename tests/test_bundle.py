"""The bundled assets: the default model, the sample meshes, and `python main.py bundle`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import trimesh

from explorer import bundled
from explorer.cli import main as cli_main
from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession, prior_samples
from trainer.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from trainer.completion.encoder_file import load_completion
from trainer.config import TrainConfig
from trainer.data.folder import load_folder_with_report
from trainer.model import VAE

TINY_TOML = """resolution = 16
channels = [4, 8, 8, 8]
latent_dim = 12
epochs = 1
dataset_size = 16
batch_size = 8
seed = 1
"""


@pytest.mark.skipif(not bundled.MODEL_FILE.is_file(),
                    reason="assets/default_model.pt is not there yet: `python main.py bundle` "
                           "writes it")
def test_the_bundled_model_loads_and_decodes_non_empty_meshes() -> None:
    ckpt = load_checkpoint(bundled.MODEL_FILE)  # the normal loader, weights_only=True
    assert ckpt.optimizer_state is None and ckpt.rng_state is None
    assert bundled.MODEL_FILE.stat().st_size < bundled.MAX_MODEL_BYTES
    assert ckpt.config == TrainConfig.from_file(bundled.MODEL_CONFIG)  # made from its config
    assert ckpt.epoch == ckpt.config.epochs and len(ckpt.history) == ckpt.epoch
    session = ExplorerSession.from_checkpoint(ckpt)
    grids = session.decode(prior_samples(12, session.latent_dim, seed=0))  # the first gallery
    meshes = [mesh_from_grid(grid) for grid in grids]
    assert sum(m is not None and len(m.faces) > 100 for m in meshes) >= 6


def test_the_bundled_model_ships_its_completion_encoder() -> None:
    vae = load_checkpoint(bundled.MODEL_FILE).build_model()
    state = load_completion(bundled.COMPLETION_FILE, vae)   # refuses another model's encoder
    assert state.optimizer_state is None and state.epoch == state.config.epochs
    assert state.config.target == "observed"
    assert bundled.COMPLETION_FILE.stat().st_size < 2**20


def test_the_bundled_model_is_configured_for_the_builtin_solids_at_32() -> None:
    config = TrainConfig.from_file(bundled.MODEL_CONFIG)
    assert config.is_builtin_data and config.resolution == 32
    assert "seed" in bundled.MODEL_CONFIG.read_text()  # pinned, not left to a default


def test_the_start_up_model_is_the_bundled_one_unless_the_environment_says(
        monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(bundled.MODEL_ENV, raising=False)
    assert bundled.startup_model() == bundled.MODEL_FILE
    assert bundled.MODEL_FILE.parent.name == "assets"
    monkeypatch.setenv(bundled.MODEL_ENV, str(tmp_path / "mine.pt"))
    assert bundled.startup_model() == tmp_path / "mine.pt"
    monkeypatch.setenv(bundled.MODEL_ENV, "")
    assert bundled.startup_model() is None


def test_the_shipped_sample_meshes_are_the_generated_ones_and_small() -> None:
    files = sorted(bundled.SAMPLES_DIR.glob("*.obj"))
    assert [f.stem for f in files] == sorted(s.name for s in bundled.SAMPLE_SOLIDS)
    assert 5 <= len(files) <= 7 and sum(f.stat().st_size for f in files) < 400_000
    for solid in bundled.SAMPLE_SOLIDS:
        shipped = trimesh.load(bundled.SAMPLES_DIR / f"{solid.name}.obj", force="mesh")
        fresh = mesh_from_grid(bundled.sample_grid(solid))
        assert shipped.is_watertight and len(shipped.faces) == len(fresh.faces)
        assert shipped.volume == pytest.approx(fresh.volume, rel=0.01)


def test_bundle_trains_strips_the_optimiser_and_writes_samples_reproducibly(
        tmp_path, capsys) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    outs = []
    for run in ("a", "b"):
        full, out = tmp_path / f"{run}_full.pt", tmp_path / f"assets_{run}"
        assert cli_main(["bundle", "--config", str(config), "--checkpoint", str(full),
                         "--out", str(out), "--device", "cpu"]) == 0
        outs.append((load_checkpoint(full), out / "default_model.pt", out / "samples"))
    assert "wrote 6 sample meshes" in capsys.readouterr().out

    (full_a, model_a, samples_a), (_, model_b, samples_b) = outs
    small = load_checkpoint(model_a)
    assert small.optimizer_state is None and small.rng_state is None
    assert full_a.optimizer_state is not None
    assert model_a.stat().st_size < 0.6 * (tmp_path / "a_full.pt").stat().st_size
    assert small.config == full_a.config and small.epoch == full_a.epoch == 1
    assert json.dumps([r.to_dict() for r in small.history]) == \
        json.dumps([r.to_dict() for r in full_a.history])  # NaN-safe equality
    for name, tensor in full_a.model_state.items():
        assert torch.equal(small.model_state[name], tensor)
    again = load_checkpoint(model_b)  # same config and seed: the same weights
    for name, tensor in small.model_state.items():
        assert torch.equal(again.model_state[name], tensor), name
    assert [p.read_bytes() for p in sorted(samples_a.iterdir())] == \
        [p.read_bytes() for p in sorted(samples_b.iterdir())]

    completion = load_completion(model_a.with_name("default_model.completion.pt"),
                                 small.build_model())
    assert completion.optimizer_state is None
    assert completion.epoch == completion.config.epochs

    shapes, report = load_folder_with_report(samples_a, 16)
    assert len(shapes) == len(bundled.SAMPLE_SOLIDS) and not report.failed


def test_bundle_refuses_a_run_that_did_not_finish(tmp_path, capsys, tiny_config) -> None:
    weights = VAE.from_config(tiny_config).state_dict()
    source = save_checkpoint(tmp_path / "half.pt", Checkpoint(tiny_config, weights, epoch=1))
    out = tmp_path / "assets"
    assert cli_main(["bundle", "--from", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "stopped after epoch 1 of 2" in err and "--resume" in err
    assert not (out / "default_model.pt").exists()


def test_samples_only_writes_just_the_meshes(tmp_path: Path) -> None:
    assert cli_main(["bundle", "--samples-only", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples"]
    assert len(list((tmp_path / "samples").glob("*.obj"))) == len(bundled.SAMPLE_SOLIDS)
