"""The Training view's log check boxes: a GUI run writes the JSONL metrics and TensorBoard log."""

from __future__ import annotations

import json
import sys

import pytest
from PySide6.QtCore import Qt

from trainer.config import TrainConfig

WAIT_MS = 60_000
TINY = {"resolution": 16, "dataset_size": 40, "latent_dim": 12, "batch_size": 8, "seed": 1}


def test_a_gui_run_writes_the_metrics_and_tensorboard_logs(window, fill, qtbot, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    view = window.training
    view.form.set_config(TrainConfig(channels=(4, 8, 8, 16)))
    fill(view.form, epochs=2, **TINY)
    qtbot.mouseClick(view.logs.metrics, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.logs.tensorboard, Qt.MouseButton.LeftButton)
    assert view.logs.metrics_path.isEnabled() and view.logs.tensorboard_path.isEnabled()
    view.logs.metrics_path.setText(str(tmp_path / "m.jsonl"))
    view.logs.tensorboard_path.setText(str(tmp_path / "tb"))
    with qtbot.waitSignal(view.run_ended, timeout=WAIT_MS):
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("validation/iou")] == [1, 2]
    assert "final/val_iou" in events.Tags()["scalars"]


def test_tensorboard_without_the_package_is_refused_before_the_run(window, qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    view = window.training
    qtbot.mouseClick(view.logs.tensorboard, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    assert not view.is_running()
    assert "[tensorboard]" in view.form_error.text()
