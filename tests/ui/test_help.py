"""Help names the version and the mouse controls of the 3D view."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from explorer import __version__


def test_about_shows_the_version_and_the_mouse_controls(window, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda _p, _t, text: shown.append(text))
    about = next(a for a in window.menuBar().actions()[-1].menu().actions()
                 if a.text() == "&About")
    about.trigger()
    assert __version__ in shown[0]
    assert "drag to orbit" in shown[0] and "wheel to zoom" in shown[0]


def test_the_shortcuts_dialog_also_lists_the_mouse_controls(window) -> None:
    window.shortcuts_action.trigger()
    dialog = window.shortcuts_dialog
    assert dialog.mouse.isVisible() and "middle-drag or Ctrl+drag to pan" in dialog.mouse.text()
    dialog.close()
