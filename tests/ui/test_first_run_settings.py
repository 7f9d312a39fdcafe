"""What the app remembers across restarts (temporary QSettings), and the keyboard shortcuts."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QMainWindow

from explorer.explore_state import GALLERY_SIZE
from explorer.ui.main_window import MainWindow
from explorer.ui.settings import CHECKPOINTS, MAX_RECENT, AppSettings
from explorer.ui.shortcuts import shortcut_rows
from trainer.checkpoint import load_checkpoint

WAIT_MS = 30_000


def _open_via_dialog(qtbot, window, dialogs, path) -> None:
    dialogs.open_path = str(path)
    window.open_action.trigger()
    qtbot.waitUntil(lambda: window.snapshot is not None and window._load_job is None,
                    timeout=WAIT_MS)


def test_recent_checkpoints_survive_a_restart_and_their_menu_entry_opens_them(
        qtbot, launch, dialogs, tiny_model, tmp_path) -> None:
    copy = tmp_path / "mine.pt"
    copy.write_bytes(tiny_model.read_bytes())
    first = launch()
    _open_via_dialog(qtbot, first, dialogs, copy)
    first.close()
    assert not first.isVisible()

    second = launch()  # a new window on the same (temporary) QSettings
    assert second.snapshot is None
    entries = second.recent_menu.path_actions()
    assert [a.data() for a in entries] == [str(copy)]
    assert entries[0].isEnabled() and "mine.pt" in entries[0].text()
    entries[0].trigger()  # File > Open Recent > 1 mine.pt
    qtbot.waitUntil(lambda: second.snapshot is not None, timeout=WAIT_MS)
    assert second.snapshot.checkpoint.config == load_checkpoint(copy).config
    assert dialogs.errors == []


def test_recent_list_is_newest_first_capped_and_missing_files_are_greyed_out(
        qtbot, launch, dialogs, tiny_model, tmp_path) -> None:
    settings = AppSettings()
    paths = [tmp_path / f"run{i}.pt" for i in range(MAX_RECENT + 2)]
    for path in paths:
        path.write_bytes(tiny_model.read_bytes())
        settings.add_recent(path)
    settings.add_recent(paths[3])  # opened again: moves to the top
    paths[5].unlink()
    window = launch()
    window.recent_menu.aboutToShow.emit()  # as when the user opens the menu
    entries = window.recent_menu.path_actions()
    assert len(entries) == MAX_RECENT
    assert entries[0].data() == str(paths[3]) and entries[1].data() == str(paths[-1])
    gone = next(a for a in entries if a.data() == str(paths[5]))
    assert not gone.isEnabled() and "not found" in gone.text()

    paths[-1].unlink()  # vanishes after the menu was built: opening it fails and prunes it
    entries[1].trigger()
    qtbot.waitUntil(lambda: window._load_job is None, timeout=WAIT_MS)
    assert dialogs.errors and "no such checkpoint" in dialogs.errors[0]
    assert str(paths[-1]) not in AppSettings().recent_checkpoints()

    clear = next(a for a in window.recent_menu.actions() if a.text() == "&Clear list")
    clear.trigger()
    assert AppSettings().recent_checkpoints() == []
    assert window.recent_menu.path_actions() == []


def test_window_geometry_round_trips_through_the_settings(qtbot) -> None:
    first = QMainWindow()
    qtbot.addWidget(first)
    first.resize(QSize(500, 400))
    first.show()
    qtbot.waitExposed(first)
    AppSettings().save_window(first)
    second = QMainWindow()
    qtbot.addWidget(second)
    assert AppSettings().restore_window(second)
    assert second.size() == QSize(500, 400)


def test_geometry_and_last_folders_survive_a_restart(qtbot, launch, dialogs, tiny_model,
                                                     monkeypatch) -> None:
    first = launch()
    _open_via_dialog(qtbot, first, dialogs, tiny_model)
    first.close()
    geometry = bytes(first.saveGeometry())

    # The test screen is smaller than the window, so Qt fits a restored window to it: check
    # that the geometry saved on closing is what the next window restores.
    restored: list[bytes] = []
    original = MainWindow.restoreGeometry
    monkeypatch.setattr(MainWindow, "restoreGeometry",
                        lambda self, data: restored.append(bytes(data)) or original(self, data))
    second = launch()
    assert restored == [geometry]
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda _parent, _title, folder, *_a: asked.append(folder) or ("", ""))
    second.open_action.trigger()
    assert asked == [str(tiny_model.parent)]
    assert AppSettings().last_folder(CHECKPOINTS) == str(tiny_model.parent)


def test_shortcuts_switch_views_draw_samples_and_start_pause_stop_training(
        qtbot, launch, tiny_model) -> None:
    window = launch(tiny_model)
    qtbot.waitUntil(lambda: len(window.explore.gallery_shapes) == GALLERY_SIZE,
                    timeout=WAIT_MS)
    codes = [s.code for s in window.explore.gallery_shapes]
    seed = window.explore.gallery.seed.value()

    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.training
    QTest.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)  # new samples
    assert window.tabs.currentWidget() is window.explore
    assert window.explore.gallery.seed.value() == seed + 1
    qtbot.waitUntil(lambda: not np.allclose(window.explore.gallery_shapes[0].code, codes[0]),
                    timeout=WAIT_MS)

    QTest.keyClick(window, Qt.Key.Key_F5)  # start training with the opened run's settings
    assert window.tabs.currentWidget() is window.training
    assert window.training.is_running() and window.stop_action.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_F6)  # pause
    assert window.training.pause_button.text() == "Resume"
    QTest.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # stop
    qtbot.waitUntil(lambda: not window.training.is_running(), timeout=WAIT_MS)
    assert window.start_action.isEnabled() and not window.stop_action.isEnabled()


def test_help_lists_the_shortcuts_of_the_actual_actions(qtbot, launch) -> None:
    window = launch()
    window.shortcuts_action.trigger()
    dialog = window.shortcuts_dialog
    qtbot.waitExposed(dialog)
    rows = dialog.rows()
    for keys, command in (("F5", "Start training"), ("F6", "Pause / resume training"),
                          ("Ctrl+G", "New samples"), ("Ctrl+E", "Export shape"),
                          ("F12", "Save screenshot"), ("Ctrl+0", "Reset camera"),
                          ("Ctrl+O", "Open checkpoint"), ("Ctrl+1", "Training view"),
                          ("Ctrl+2", "Explore view"), ("F1", "Keyboard shortcuts")):
        assert any(r[0].startswith(keys) and r[1] == command for r in rows), (keys, command)
    assert ("Ctrl+S or Ctrl+Shift+S", "Save checkpoint as", "File") in rows
    assert len(rows) == len(shortcut_rows(window.menuBar()))

    window.camera_action.setShortcut(QKeySequence("Ctrl+9"))  # the table follows the actions
    window.show_shortcuts()
    assert ("Ctrl+9", "Reset camera", "Explore") in window.shortcuts_dialog.rows()
    window.shortcuts_dialog.close()


@pytest.mark.parametrize("kind", ["Shape...", "Screenshot..."])
def test_export_shortcuts_ask_where_to_write_and_remember_the_folder(
        qtbot, launch, tiny_model, tmp_path, monkeypatch, kind) -> None:
    window = launch(tiny_model)
    qtbot.waitUntil(lambda: window.explore.current_shape is not None, timeout=WAIT_MS)
    target = tmp_path / ("shape.stl" if kind == "Shape..." else "view.png")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), ""))
    window.tabs.setCurrentWidget(window.training)
    action = window.export_action if kind == "Shape..." else window.screenshot_action
    QTest.keyClick(window, action.shortcut()[0].key(), action.shortcut()[0].keyboardModifiers())
    qtbot.waitUntil(lambda: target.exists(), timeout=WAIT_MS)
    assert window.tabs.currentWidget() is window.explore
    assert os.path.getsize(target) > 0
    assert AppSettings().last_folder("exports") == str(tmp_path)
