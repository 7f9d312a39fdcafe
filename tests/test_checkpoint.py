"""Checkpoint round trip, atomic writes and refusal of every kind of bad file."""

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from trainer.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from trainer.config import TrainConfig
from trainer.errors import CheckpointError
from trainer.model import VAE
from trainer.weights_file import save_weights

CONFIG = TrainConfig(resolution=16, latent_dim=12, channels=(2, 4, 4, 8))


def _ckpt(config: TrainConfig = CONFIG) -> Checkpoint:
    torch.manual_seed(0)
    return Checkpoint(config=config, model_state=VAE.from_config(config).state_dict(), epoch=3,
                      class_names=("a", "b"))


def test_round_trip(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "m.pt", _ckpt())
    loaded = load_checkpoint(path)
    assert loaded.config == CONFIG and loaded.epoch == 3 and loaded.class_names == ("a", "b")
    for key, value in _ckpt().model_state.items():
        torch.testing.assert_close(loaded.model_state[key], value)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temp file left


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt())
    before = path.read_bytes()

    def half_write_then_fail(obj, f):
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", half_write_then_fail)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(path, _ckpt())
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.pt"]


def test_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pt"
    with path.open("wb") as f:
        torch.save({"format": "shape-latent-explorer", "version": 1, "x": Payload()}, f)
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(b"not a zip at all" * 10), "corrupt or truncated"),
    (lambda p: torch.save({"weights": torch.zeros(2)}, p), "not a Shape Latent Explorer"),
    (lambda p: torch.save([1, 2, 3], p), "not a Shape Latent Explorer"),
])
def test_bad_files(tmp_path, make, words):
    path = tmp_path / "x.pt"
    make(path)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(path)


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "none.pt")


def _tamper(path: Path, **changes) -> None:
    raw = torch.load(path, weights_only=True)
    raw.update(changes)
    torch.save(raw, path)


def test_newer_format_version(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt())
    _tamper(path, version=FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="newer version"):
        load_checkpoint(path)


def test_weights_of_another_architecture(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt())
    other = TrainConfig(resolution=32, latent_dim=12, channels=(2, 4, 4, 8))
    _tamper(path, model=VAE.from_config(other).state_dict())
    with pytest.raises(CheckpointError, match="another architecture or resolution"):
        load_checkpoint(path)


def test_invalid_config_inside(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt())
    _tamper(path, config={**CONFIG.to_dict(), "resolution": 7})
    with pytest.raises(CheckpointError, match="invalid configuration"):
        load_checkpoint(path)


def test_safetensors_export(tmp_path):
    ckpt = _ckpt()
    path = save_weights(tmp_path / "w.safetensors", ckpt)
    tensors = load_file(path)
    assert set(tensors) == set(ckpt.model_state)
    torch.testing.assert_close(tensors["to_mu.weight"], ckpt.model_state["to_mu.weight"])


def test_format_1_files_still_load(tmp_path):
    """A file written before the model family: version 1, no kind, older config and reports;
    its network has no pose dimensions."""
    report = {"epoch": 1, "train_loss": 9.0, "train_recon": 8.0, "train_kl": 1.0,
              "val_loss": 9.5, "val_recon": 8.5, "val_kl": 1.0, "val_iou": 0.5,
              "val_hamming": 0.1, "mu_mean": 0.0, "mu_var": 1.0, "logvar_mean": -1.0,
              "mu_mean_per_dim": [0.0] * 4, "mu_var_per_dim": [1.0] * 4, "active_units": 4,
              "latent_dim": 12, "lr": 1e-3, "samples_per_s": 10.0, "elapsed_s": 5.0}
    poseless = CONFIG.with_overrides(pose="none", augment="none")
    old_config = {k: v for k, v in poseless.to_dict().items()
                  if k in ("data", "resolution", "latent_dim", "channels", "batch_size",
                           "epochs", "lr", "lr_schedule", "likelihood", "samples", "beta",
                           "seed", "val_fraction", "dataset_size")}
    path = tmp_path / "old.pt"
    torch.save({"format": "shape-latent-explorer", "version": 1, "config": old_config,
                "model": _ckpt(poseless).model_state, "epoch": 1, "history": [report],
                "class_names": ["a"], "optimizer": None, "rng": None}, path)
    ckpt = load_checkpoint(path)
    assert ckpt.kind == "vae" and ckpt.ppca is None and ckpt.config == poseless
    assert ckpt.history[0].beta == CONFIG.beta and ckpt.history[0].val_iou == 0.5
    assert ckpt.history[0].temperature is None and ckpt.history[0].mutual_info_per_var == ()


def test_format_2_files_load_without_pose_and_format_3_keeps_it(tmp_path):
    """Files written before pose-aware models hold networks without pose dimensions."""
    poseless = CONFIG.with_overrides(pose="none", augment="none")
    old_config = {k: v for k, v in poseless.to_dict().items() if k not in ("pose", "augment")}
    path = save_checkpoint(tmp_path / "old.pt", _ckpt(poseless))
    _tamper(path, version=2, config=old_config)
    old = load_checkpoint(path)
    assert old.config == poseless and not old.build_model().pose
    path = save_checkpoint(tmp_path / "new.pt", _ckpt())
    _tamper(path, config=CONFIG.to_dict())
    assert load_checkpoint(path).build_model().pose


@pytest.mark.parametrize("latent_dim, pose", [(16, "moments"), (8, "none")])
def test_format_3_files_keep_what_pose_auto_meant_then_and_were_not_augmented(
        tmp_path, latent_dim, pose):
    """Before format 4, 'auto' meant pose dimensions wherever they apply; now the data decide."""
    saved = CONFIG.with_overrides(latent_dim=latent_dim, pose=pose)
    old_config = {k: v for k, v in saved.to_dict().items() if k != "augment"} | {"pose": "auto"}
    path = save_checkpoint(tmp_path / "old.pt", _ckpt(saved))
    _tamper(path, version=3, config=old_config)
    old = load_checkpoint(path)
    assert old.config == saved.with_overrides(augment="none")
    assert old.build_model().pose == (pose == "moments")


def test_unknown_model_kind(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt())
    _tamper(path, kind="gan")
    with pytest.raises(CheckpointError, match="unknown model kind 'gan'"):
        load_checkpoint(path)
