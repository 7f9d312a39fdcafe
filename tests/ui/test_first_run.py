"""First launch: `python main.py` opens the start-up model in the Explore view; without one the
Training view opens with a hint. A tiny 16^3 checkpoint stands in for assets/default_model.pt."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

import main
from explorer import fast_decode
from explorer.bundled import MODEL_ENV
from explorer.explore_state import GALLERY_SIZE
from explorer.ui import snapshot
from explorer.ui.main_window import MainWindow
from explorer.ui.settings import AppSettings
from trainer.checkpoint import load_checkpoint

START_WAIT_MS = 30_000


def _gallery_full(window: MainWindow) -> bool:
    return window.views_ready and len(window.explore.gallery_shapes) == GALLERY_SIZE


def test_python_main_py_opens_the_bundled_model_with_a_full_gallery(
        qapp: QApplication, tiny_model, monkeypatch, dialogs) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tiny_model))
    # A compile thread left by an earlier test would make the app leave with os._exit.
    monkeypatch.setattr(fast_decode, "compiling", lambda: False)
    seen: dict[str, object] = {}

    def check() -> None:
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)
                   and w.isVisible()]
        if windows and _gallery_full(windows[0]):
            window = windows[0]
            seen.update(tab=window.tabs.currentWidget() is window.explore,
                        meshes=sum(s.mesh is not None for s in window.explore.gallery_shapes),
                        sliders=window.explore.sliders.latent_dim,
                        status=window.statusBar().currentMessage())
            window.close()  # the last window: the app quits (a second quit() would linger)

    poll = QTimer(interval=50)
    poll.timeout.connect(check)
    guard = QTimer(singleShot=True, interval=START_WAIT_MS)  # never hang the suite
    guard.timeout.connect(qapp.quit)
    poll.start()
    guard.start()
    try:
        assert main.main([]) == 0
    finally:
        poll.stop()
        guard.stop()
    assert seen, "the gallery did not fill"
    assert seen["tab"] and seen["sliders"] == load_checkpoint(tiny_model).config.latent_dim
    assert seen["meshes"] >= GALLERY_SIZE // 2
    assert "default_model.pt" in seen["status"]
    assert dialogs.errors == []


def test_the_bundled_model_opens_in_the_background_and_its_sliders_move_the_shape(
        qtbot, launch, tiny_model, monkeypatch) -> None:
    threads = []
    original = snapshot.load_snapshot
    monkeypatch.setattr(snapshot, "load_snapshot", lambda path: threads.append(
        threading.current_thread()) or original(path))
    window = launch(tiny_model)
    qtbot.waitUntil(lambda: _gallery_full(window) and window.explore.current_shape is not None,
                    timeout=START_WAIT_MS)
    assert window.tabs.currentWidget() is window.explore
    assert threads and threads[0] is not threading.main_thread()  # never on the GUI thread
    first = next(s for s in window.explore.gallery_shapes if s.mesh is not None)
    qtbot.waitUntil(lambda: np.array_equal(window.explore.current_shape.code, first.code),
                    timeout=START_WAIT_MS)  # a shape with a surface in the 3D view at once
    np.testing.assert_array_equal(window.explore.state.code, first.code)
    assert window.training.form.config() == load_checkpoint(tiny_model).config
    assert AppSettings().recent_checkpoints() == []  # not a file the user chose

    slider = window.explore.sliders.sliders[0]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: window.explore.current_shape.code[0] == pytest.approx(3.0),
                    timeout=START_WAIT_MS)
    np.testing.assert_allclose(window.explore.current_shape.code[1:], first.code[1:])


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_without_a_usable_bundled_model_the_training_view_opens_with_a_hint(
        qtbot, launch, tmp_path, dialogs, problem) -> None:
    path = tmp_path / "default_model.pt"
    if problem == "corrupt":
        path.write_bytes(b"not a checkpoint")
    window = launch(path)
    qtbot.waitUntil(lambda: window._load_job is None, timeout=START_WAIT_MS)
    message = window.statusBar().currentMessage()
    assert ("No bundled model at" if problem == "missing" else "could not be opened") in message
    assert "python main.py bundle" in message or "corrupt" in message
    assert "Start" in message and "open a checkpoint" in message
    assert window.tabs.currentWidget() is window.training
    assert window.explore.session is None and window.explore.hint.text().startswith("Train")
    assert dialogs.errors == []  # a hint, not a dialog
    assert window.start_action.isEnabled() and window.open_action.isEnabled()
