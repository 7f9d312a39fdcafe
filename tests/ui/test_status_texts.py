"""Status texts stay true: no ETA while paused or after the end, nothing left of an import
that failed, every junk file's reason reachable in plain words, failures noted only a while."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from explorer.ui import main_window as main_window_module
from trainer.config import TrainConfig

WAIT_MS = 30_000
TINY = {"resolution": 16, "dataset_size": 80, "latent_dim": 12, "batch_size": 8, "lr": "0.005",
        "seed": 1}


@pytest.fixture
def start(window, fill, record, qtbot):
    def start_run(epochs: int) -> list:
        view = window.training
        view.form.set_config(TrainConfig(channels=(4, 8, 8, 16)))
        fill(view.form, epochs=epochs, **TINY)
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
        return record(view._run.worker.progressed)

    return start_run


def test_the_eta_gives_way_to_paused_stopping_and_stopped(window, start, qtbot) -> None:
    view = window.training
    progress = start(epochs=500)
    qtbot.waitUntil(lambda: "ETA" in view.progress.format(), timeout=WAIT_MS)
    qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)
    assert view.progress.format().endswith("· paused") and "ETA" not in view.progress.format()
    qtbot.wait(300)
    assert "ETA" not in view.progress.format()
    qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)     # Resume
    seen = len(progress)
    qtbot.waitUntil(lambda: len(progress) > seen + 1 and "ETA" in view.progress.format(),
                    timeout=WAIT_MS)
    qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)
    assert view.progress.format().endswith("· stopped"), view.progress.format()

    window.new_action.trigger()           # unsaved: asked, answered No (the fixture's answer)
    assert view.progress.format() == "Not running" and view.status.text() == "Ready."


def test_a_failed_open_is_noted_in_the_status_bar_only_for_a_while(window, dialogs, qtbot,
                                                                    monkeypatch,
                                                                    tmp_path) -> None:
    monkeypatch.setattr(main_window_module, "FAILURE_NOTE_MS", 300)
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    window.open_path(bad)
    qtbot.waitUntil(lambda: window._load_job is None, timeout=WAIT_MS)
    assert dialogs.errors
    assert window.statusBar().currentMessage() == "Opening broken.pt failed."
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=3000)
