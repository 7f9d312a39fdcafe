"""Training from the GUI with real widgets and a real worker thread on tiny configs."""

from __future__ import annotations

import os
import re
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from trainer import families
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.objective import LossTerms
from trainer.thread_priority import BACKGROUND_NICE_INCREMENT, MAX_NICE

WAIT_MS = 30_000
TINY = {"resolution": 16, "dataset_size": 80, "latent_dim": 12, "batch_size": 8, "lr": "0.005",
        "seed": 1}


@pytest.fixture
def start(window, fill, record, qtbot):
    """Fill the form with a tiny config of `epochs` epochs and click Start; returns the lists of
    batch progress (from the worker) and epoch snapshots received on the GUI thread."""

    def start_run(epochs: int) -> tuple[list, list]:
        view = window.training
        view.form.set_config(TrainConfig(channels=(4, 8, 8, 16)))  # not on the form
        fill(view.form, epochs=epochs, **TINY)
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
        assert view.is_running()
        return record(view._run.worker.progressed), record(view.snapshot_taken)

    return start_run


def test_plots_follow_the_reports_and_pause_resume_stop_work(window, start, qtbot,
                                                             monkeypatch) -> None:
    view, plots = window.training, window.training.plots
    explored = []
    monkeypatch.setattr(window.explore, "set_session", lambda s, **_: explored.append(s))
    progress, snapshots = start(epochs=200)
    qtbot.waitUntil(lambda: len(snapshots) >= 2, timeout=WAIT_MS)
    assert re.fullmatch(r"Epoch \d+/200 · batch \d+/\d+ · ETA \d+:\d\d", view.progress.format())

    trainer = view._run.worker._trainer
    batches, report_progress = [], trainer.on_progress
    trainer.on_progress = lambda p: (batches.append(p), report_progress(p))  # every batch
    qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)
    assert view.pause_button.text() == "Resume"
    qtbot.wait(1500)
    assert len(batches) <= 1, f"{len(batches)} batches ran after Pause (the one under way may end)"
    seen, signalled = len(batches), len(progress)

    def plotted() -> int:
        return len(plots.curves["val_loss"].getOriginalDataset()[0])

    qtbot.waitUntil(lambda: plotted() == len(snapshots[-1].checkpoint.history), timeout=WAIT_MS)
    history = snapshots[-1].checkpoint.history  # the trainer's own reports
    assert len(history) >= 2
    for field in ("train_loss", "val_loss", "val_kl", "val_iou", "mu_mean", "mu_var",
                  "logvar_mean", "active_units"):
        x, y = plots.curves[field].getOriginalDataset()
        np.testing.assert_array_equal(x, [r.epoch for r in history])
        np.testing.assert_allclose(y, [getattr(r, field) for r in history])
    np.testing.assert_allclose(plots.bars.opts["height"], history[-1].mu_var_per_dim)
    assert plots.latent_line.value() == 12
    assert len(plots.batch_curve.getOriginalDataset()[0]) > 0
    assert window.save_action.isEnabled() and not window.open_action.isEnabled()

    qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(batches) > seen and len(progress) > signalled, timeout=WAIT_MS)
    qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)
    assert view.wait(2000)
    assert view.status.text() == "Stopped."
    assert explored == [window.snapshot.session]
    assert window.snapshot is snapshots[-1]
    assert explored[0].shapes is not None and not explored[0].model.training
    assert view.start_button.isEnabled() and window.open_action.isEnabled()


def test_a_run_that_finishes_hands_its_model_to_explore(window, start, qtbot) -> None:
    _, snapshots = start(epochs=2)
    qtbot.waitUntil(lambda: not window.training.is_running(), timeout=WAIT_MS)
    assert window.training.status.text() == "Finished."
    assert len(window.snapshot.checkpoint.history) == 2
    # the built-in solids are turned: 'auto' keeps the pose dimensions, and the view says why
    assert window.snapshot.checkpoint.config.pose == "moments"
    chosen = window.training.chosen
    assert chosen.isVisible() and "pose = moments" in chosen.text() and "grid axis" in chosen.text()
    assert window.snapshot is snapshots[-1]
    recon = window.snapshot.reconstructions
    assert recon.inputs.shape == recon.outputs.shape == (6, 16, 16)
    assert window.training.recon.tiles[0][0].pixmap() is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_training_runs_at_a_lower_priority_than_the_gui(window, start, qtbot) -> None:
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    start(epochs=200)
    worker_nice: list[int] = []
    window.training._run.worker.progressed.connect(   # runs on the worker's thread
        lambda _: worker_nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())),
        Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: bool(worker_nice), timeout=WAIT_MS)
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.is_running(), timeout=WAIT_MS)
    assert worker_nice[0] == min(gui + BACKGROUND_NICE_INCREMENT, MAX_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui


def test_closing_mid_training_asks_to_save_then_joins_the_thread(window, start, dialogs, qtbot,
                                                                 tmp_path) -> None:
    _, snapshots = start(epochs=200)
    qtbot.waitUntil(lambda: len(snapshots) >= 1, timeout=WAIT_MS)

    dialogs.answer = QMessageBox.StandardButton.Cancel
    window.close()
    assert window.isVisible() and window.training.is_running()

    dialogs.answer = QMessageBox.StandardButton.Yes
    dialogs.save_path = str(tmp_path / "closing.pt")
    began = time.monotonic()
    window.close()
    assert time.monotonic() - began < 2.5
    assert not window.isVisible()
    assert window.training.wait(0), "the training thread still runs"
    assert len(dialogs.questions) == 2
    assert load_checkpoint(tmp_path / "closing.pt").epoch >= 1


def test_a_bad_data_folder_reaches_the_error_dialog(window, fill, dialogs, qtbot,
                                                    tmp_path) -> None:
    view = window.training
    fill(view.form, folder=tmp_path / "no-such-folder", resolution=16, epochs=2)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)
    assert len(dialogs.errors) == 1 and "no-such-folder" in dialogs.errors[0]
    assert view.status.text().startswith("Failed:")
    assert view.start_button.isEnabled()


def test_a_nan_loss_reaches_the_error_dialog_and_the_last_good_model_stays(
        window, start, dialogs, qtbot, monkeypatch) -> None:
    poisoned = []
    real = families.negative_elbo

    def negative_elbo(*args, **kwargs) -> LossTerms:
        terms = real(*args, **kwargs)
        if poisoned and torch.is_grad_enabled():  # training, not validation
            return LossTerms(terms.loss * float("nan"), terms.recon, terms.kl)
        return terms

    monkeypatch.setattr(families, "negative_elbo", negative_elbo)
    explored = []
    monkeypatch.setattr(window.explore, "set_session", lambda s, **_: explored.append(s))
    _, snapshots = start(epochs=200)
    qtbot.waitUntil(lambda: len(snapshots) >= 1, timeout=WAIT_MS)
    poisoned.append(True)
    qtbot.waitUntil(lambda: not window.training.is_running(), timeout=WAIT_MS)
    assert len(dialogs.errors) == 1 and "the loss became nan" in dialogs.errors[0]
    assert explored == [snapshots[-1].session]
    assert window.save_action.isEnabled()
