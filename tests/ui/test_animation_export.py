"""Exporting the Explore view's interpolation as an animated GIF from the Export panel."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from explorer.explore_state import GALLERY_SIZE
from explorer.session import ExplorerSession
from explorer.ui import explore_export
from explorer.ui.explore_view import ExploreView

WAIT_MS = 30_000


@pytest.fixture
def view(qtbot, explore_view: ExploreView, tiny_model) -> ExploreView:
    explore_view.set_session(ExplorerSession.from_checkpoint(tiny_model), first_sample=True)
    qtbot.waitUntil(lambda: explore_view.current_shape is not None
                    and len(explore_view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)
    return explore_view


def test_the_interpolation_exports_as_a_gif_of_its_frames(qtbot, view, monkeypatch, tmp_path):
    target = tmp_path / "morph"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a: warnings.append(a[2])))
    button = view.export_panel.buttons[explore_export.ANIMATION]
    button.click()                                    # nothing to animate yet
    assert warnings == ["There is no interpolation or traversal to animate yet."]

    view.sequence.steps.setValue(5)
    qtbot.mouseClick(view.sequence.interpolate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.sequence.frame_count == 5, timeout=WAIT_MS)
    with qtbot.waitSignal(view.exported, timeout=WAIT_MS) as signal:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [p.name for p in signal.args[0]] == ["morph.gif"]
    frames = iio.imread(tmp_path / "morph.gif", index=None)
    assert frames.shape[0] == 5
    assert not np.array_equal(frames[0], frames[-1])
    assert view.export_panel.status.text() == "Wrote morph.gif"
