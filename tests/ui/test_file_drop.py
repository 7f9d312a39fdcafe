"""Dropping files on the main window: a checkpoint opens in Explore, a mesh is encoded and shown
next to its reconstruction, a folder becomes the data source, anything else gets a message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from explorer import __version__
from explorer.encode import file_grids, inside_iou
from explorer.ui.file_drop import ENCODE_REFINE_STEPS
from explorer.ui.main_window import MainWindow
from trainer.checkpoint import load_checkpoint
from trainer.weights_file import save_weights

WAIT_MS = 30_000


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *_a: shown.append(text))
    return shown


def drop(window: MainWindow, *paths: Path) -> bool:
    """Drag ``paths`` over the window's centre and drop them, as a file manager does; whether
    the window accepted the drag."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(window, QDropEvent(
        QPointF(QPoint(centre)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier))
    return True


def test_a_dropped_checkpoint_opens_in_explore_and_a_dropped_mesh_is_encoded(
        window, qtbot, tiny_model, tmp_path, dialogs, warnings) -> None:
    weights = save_weights(tmp_path / "tiny.safetensors", load_checkpoint(tiny_model))
    assert drop(window, weights)
    qtbot.waitUntil(lambda: window.explore.session is not None and not window.is_loading,
                    timeout=WAIT_MS)
    session = window.explore.session
    assert window.tabs.currentWidget() is window.explore
    assert session.latent_dim == load_checkpoint(tiny_model).config.latent_dim

    mesh_file = tmp_path / "cube.stl"
    trimesh.creation.box(extents=(0.8, 0.6, 0.5)).export(mesh_file)
    assert drop(window, mesh_file)
    qtbot.waitUntil(lambda: window.file_opener.encoded_dialog is not None
                    and window.file_opener.encoded_dialog.isVisible(), timeout=WAIT_MS)
    dialog = window.file_opener.encoded_dialog
    assert "cube.stl" in dialog.windowTitle()
    assert dialog.input_view.vertices() is not None   # the voxelised box, drawn
    grid = file_grids(session, [mesh_file])
    encoder_code = session.encode(grid)[0]
    expected = session.encode(grid, refine=ENCODE_REFINE_STEPS)[0]
    np.testing.assert_allclose(window.explore.state.code, expected, atol=1e-2)
    assert np.abs(expected - encoder_code).max() > 0.05
    iou = inside_iou(session.decode(expected), grid[0], 0.5, False)
    before = inside_iou(session.decode(encoder_code), grid[0], 0.5, False)
    assert dialog.decoded_label.text() == (
        f"Reconstruction (its code refined by {ENCODE_REFINE_STEPS} steps): IoU {iou:.3f}; "
        f"the encoder's code alone: {before:.3f}")
    assert "Encoded cube.stl" in window.statusBar().currentMessage()
    assert warnings == [] and dialogs.errors == []


def test_a_dropped_folder_becomes_the_data_source(window, tmp_path, warnings) -> None:
    assert drop(window, tmp_path)
    form = window.training.form
    assert window.tabs.currentWidget() is window.training
    assert form.folder.text() == str(tmp_path) and form.folder.isEnabled()
    assert warnings == []


def test_what_cannot_be_opened_gets_a_message(window, tmp_path, warnings) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert drop(window, notes)
    assert len(warnings) == 1 and "cannot open .txt files" in warnings[0]

    assert drop(window, tmp_path / "box.obj")   # no model to encode it with
    assert "no such file" in warnings[1]
    (tmp_path / "box.obj").write_text("v 0 0 0\n")
    assert drop(window, tmp_path / "box.obj")
    assert "open a checkpoint first" in warnings[2]

    assert drop(window, notes, tmp_path)
    assert "one checkpoint, shape file or folder at a time" in warnings[3]

    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()   # only files and folders are taken


def test_help_about_shows_the_version(window, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda _p, _t, text: shown.append(text))
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    next(a for a in help_menu.actions() if a.text() == "&About").trigger()
    assert len(shown) == 1 and f"</b> {__version__}<p>" in shown[0]


def test_a_shape_named_at_start_up_is_encoded_once_the_start_up_model_is_open(
        launch, qtbot, tiny_model, tmp_path, warnings) -> None:
    mesh_file = tmp_path / "ball.obj"
    trimesh.creation.icosphere(subdivisions=2, radius=0.8).export(mesh_file)
    window = launch(startup_model=tiny_model)   # as run_app does for `main.py ball.obj`
    window.file_opener.open(mesh_file)
    qtbot.waitUntil(lambda: window.file_opener.encoded_dialog is not None, timeout=WAIT_MS)
    assert window.explore.session is not None and window.tabs.currentWidget() is window.explore
    assert "ball.obj" in window.file_opener.encoded_dialog.windowTitle()
    assert warnings == []
