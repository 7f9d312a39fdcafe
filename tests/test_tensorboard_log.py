"""The TensorBoard log of a run: read back with TensorBoard's own reader."""

import sys

import pytest

from explorer.cli import main
from trainer.errors import ConfigError
from trainer.tensorboard_log import MISSING_MESSAGE, check_available, scalar_tag

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)

TINY = ["--resolution", "16", "--latent-dim", "12", "--batch-size", "8", "--dataset-size", "30",
        "--epochs", "2", "--seed", "1", "--channels", "4,8,8,16"]


def test_train_writes_scalars_hparams_embedding_and_meshes(tmp_path):
    logs = tmp_path / "tb"
    assert main(["train", *TINY, "--checkpoint", str(tmp_path / "m.pt"),
                 "--tensorboard", str(logs)]) == 0
    events = EventAccumulator(str(logs), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "validation/loss", "validation/iou", "validation/hamming",
            "latent/mu_var", "latent/active_units", "run/lr"} <= scalars
    assert {f"latent/mu_var_per_dim/{d:03d}" for d in range(12)} <= scalars
    assert [e.step for e in events.Scalars("validation/iou")] == [1, 2]
    assert 0 <= events.Scalars("validation/iou")[-1].value <= 1
    assert "final/val_iou" in scalars
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
    assert any(tag.startswith("reconstruction/") for tag in events.Tags()["tensors"])
    projector = next(logs.rglob("projector_config.pbtxt")).read_text()
    assert "validation_codes" in projector and "sprite" in projector
    metadata = next(logs.rglob("metadata.tsv")).read_text().splitlines()
    assert len(metadata) == 3 and set(metadata) <= {"sphere", "ellipsoid", "box", "cylinder",
                                                    "cone", "torus", "capsule"}


def test_missing_package_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ConfigError, match=r"\[tensorboard\]"):
        check_available()
    assert main(["train", *TINY, "--checkpoint", str(tmp_path / "m.pt"),
                 "--tensorboard", str(tmp_path / "tb")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {MISSING_MESSAGE}"
    assert not (tmp_path / "m.pt").exists()


def test_a_file_in_place_of_the_log_folder_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "tb").write_text("")
    assert main(["train", *TINY, "--checkpoint", str(tmp_path / "m.pt"),
                 "--tensorboard", str(tmp_path / "tb")]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_scalar_tags_group_the_report_fields():
    assert [scalar_tag(f) for f in ("train_kl", "val_iou", "mu_mean", "lr")] == \
        ["train/kl", "validation/iou", "latent/mu_mean", "run/lr"]
