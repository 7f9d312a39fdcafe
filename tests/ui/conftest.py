"""Shared GUI fixtures: a shown main window whose modal dialogs are replaced by recorders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from explorer.ui.main_window import MainWindow


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
