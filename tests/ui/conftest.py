"""Shared GUI fixtures: a shown main window whose modal dialogs are replaced by recorders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QOpenGLContext
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from explorer.ui.explore_view import ExploreView
from explorer.ui.gui_thread_gc import GuiThreadGarbageCollector
from explorer.ui.main_window import MainWindow
from trainer.checkpoint import save_checkpoint
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.loop import Trainer


@dataclass
class Dialogs:
    """What the replaced dialogs were asked, and what they answer."""

    errors: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    answer: QMessageBox.StandardButton = QMessageBox.StandardButton.No
    open_path: str = ""
    save_path: str = ""


class _SignalLog(QObject):
    """Records a signal's values on the GUI thread, where this object lives (a plain function
    connected to a worker's signal would run on the worker's thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[object] = []

    @Slot(object)
    def record(self, value: object) -> None:
        self.values.append(value)


@pytest.fixture(autouse=True, scope="session")
def gui_thread_gc(qapp):
    """As in the app: cycles (Qt widgets of finished tests among them) are collected on the GUI
    thread, never on a training or decoding thread."""
    collector = GuiThreadGarbageCollector(qapp)
    yield collector
    collector.deleteLater()


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory) -> str:
    """Every GUI test starts from empty app settings in a temporary folder, never ~/.config."""
    folder = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
    return folder


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    d = Dialogs()

    def question(_parent, _title, text, *_args) -> QMessageBox.StandardButton:
        d.questions.append(text)
        return d.answer

    monkeypatch.setattr(QMessageBox, "critical", lambda _p, _t, text, *_a: d.errors.append(text))
    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (d.open_path, ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (d.save_path, ""))
    return d


@pytest.fixture
def record():
    """record(signal) -> the list its values are appended to, on the GUI thread."""
    logs: list[_SignalLog] = []

    def connect(signal) -> list[object]:
        logs.append(_SignalLog())
        signal.connect(logs[-1].record)
        return logs[-1].values

    return connect


@pytest.fixture
def window(qtbot, dialogs: Dialogs) -> Iterator[MainWindow]:
    """A shown MainWindow; closed at the end (unsaved models are not saved), thread joined."""
    win = MainWindow()
    win.show()
    qtbot.waitExposed(win)
    yield win
    dialogs.answer = QMessageBox.StandardButton.No
    win.close()
    assert win.training.wait(5000)
    win.deleteLater()


@pytest.fixture
def fill(qtbot):
    """Type values into a ConfigForm's fields like a user: fill(form, epochs=3, resolution=16)."""

    def fill_form(form, **values: object) -> None:
        for name, value in values.items():
            if name in ("resolution", "likelihood"):
                getattr(form, name).setCurrentText(str(value))
            elif name == "folder":
                form.source.setCurrentIndex(1)
                form.folder.setText(str(value))
            else:
                form.fields[name].clear()
                qtbot.keyClicks(form.fields[name], str(value))

    return fill_form


START_WAIT_MS = 30_000
TINY_STARTUP = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 8), batch_size=8,
                           epochs=1, dataset_size=16, seed=0)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A start-up model in place of the bundled 32^3 one: one epoch on 16 solids at 16^3, its
    output layer rescaled so that decoded shapes have a surface (logits from z = 0 spread over
    about ±4, 15% of the voxels inside)."""
    config = TINY_STARTUP
    trainer = Trainer(config, *load_shapes(config).split(config.val_fraction, config.seed))
    trainer.run()
    ckpt = trainer.checkpoint()
    model = ckpt.build_model()
    with torch.no_grad():
        logits = model.decode(torch.zeros(2, config.latent_dim))
        scale, out = 4 / logits.std(), model.decoder[-1]
        out.weight *= scale
        out.bias.mul_(scale).sub_(scale * torch.quantile(logits, 0.85))
    ckpt.model_state = {k: v.clone() for k, v in model.state_dict().items()}
    return save_checkpoint(tmp_path_factory.mktemp("bundled") / "default_model.pt", ckpt)


@pytest.fixture
def launch(qtbot, dialogs: Dialogs) -> Iterator[Callable[..., MainWindow]]:
    """launch(startup_model=None, **kw) -> a shown MainWindow built as `run_app` builds it
    (views after a background import, the test's private settings); closed at the end without
    saving."""
    windows: list[MainWindow] = []

    def start(startup_model: Path | None = None, **kwargs: object) -> MainWindow:
        kwargs.setdefault("import_in_background", True)
        window = MainWindow(startup_model=startup_model, **kwargs)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.views_ready, timeout=START_WAIT_MS)
        window.activateWindow()  # keyboard shortcuts go to the active window
        assert QTest.qWaitForWindowActive(window, 5000)
        return window

    yield start
    dialogs.answer = QMessageBox.StandardButton.No
    for window in windows:
        close_window(qtbot, window)


def close_window(qtbot, window: MainWindow) -> None:
    """Close as a user who does not save; waits for loading and training to end."""
    qtbot.waitUntil(lambda: window._load_job is None, timeout=START_WAIT_MS)
    if window.isVisible():
        window.close()
    if window.views_ready:
        assert window.training.wait(5000)
    window.deleteLater()


@pytest.fixture
def explore_view(qtbot) -> Iterator[ExploreView]:
    """An Explore view with no model, shown at a usable size; skipped where no GL context can
    be made. Its decode worker is stopped afterwards."""
    if not QOpenGLContext().create():
        pytest.skip("no OpenGL context can be made here (run under Xvfb with Mesa)")
    view = ExploreView()
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.shutdown()
