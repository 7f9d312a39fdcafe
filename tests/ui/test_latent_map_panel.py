"""The latent map in the Explore view, with real clicks on the real plot and a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from explorer import latent_map as lm
from explorer.explore_state import GALLERY_SIZE
from explorer.session import ExplorerSession
from explorer.ui.explore_view import ExploreView
from explorer.ui.latent_map_view import NEIGHBOURS, LatentMapPanel
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.loop import Trainer

WAIT_MS = 20_000


@pytest.fixture(scope="module")
def session() -> ExplorerSession:
    """A 16^3 VAE trained for 1 epoch on 48 solids, its output rescaled so that decoded shapes
    have a surface; the whole data set is loaded (the map shows its 12 validation shapes)."""
    config = TrainConfig(resolution=16, latent_dim=6, channels=(8, 8, 16, 16), batch_size=8,
                         epochs=1, lr=5e-3, dataset_size=48, val_fraction=0.25, seed=0)
    shapes = make_procedural(48, 16, 0)
    trainer = Trainer(config, *shapes.split(config.val_fraction, config.seed))
    trainer.run()
    session = ExplorerSession.from_checkpoint(trainer.checkpoint(), shapes=shapes)
    with torch.no_grad():
        logits = session.model.decode(torch.zeros(2, config.latent_dim))
        scale, out = 4 / logits.std(), session.model.decoder[-1]
        out.weight *= scale
        out.bias.mul_(scale).sub_(scale * torch.quantile(logits, 0.85))
    return session


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts of the warning dialogs the view would have shown."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *_a: shown.append(text))
    return shown


@pytest.fixture
def view(qtbot, explore_view: ExploreView, session: ExplorerSession,
         warnings: list[str]) -> ExploreView:
    """The Explore view with the model, its gallery drawn and the map tab shown."""
    explore_view.set_session(session)
    qtbot.waitUntil(lambda: explore_view.current_shape is not None
                    and len(explore_view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)
    panel = explore_view.latent_map
    tabs = explore_view.side_tabs
    with qtbot.waitSignal(panel.mapShown, timeout=WAIT_MS):
        qtbot.mouseClick(tabs.tabBar(), Qt.MouseButton.LeftButton,
                         pos=tabs.tabBar().tabRect(tabs.indexOf(panel)).center())
    return explore_view


def click_point(qtbot, panel: LatentMapPanel, index: int, add: bool = False) -> None:
    modifier = Qt.KeyboardModifier.ControlModifier if add else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, modifier,
                     pos=panel.plot.widget_position(panel.latent_map.points[index]))


def hover(widget: QWidget, pos: QPoint) -> None:
    """A mouse move onto ``pos`` with no button held, sent to ``widget`` as the window system
    would (QTest.mouseMove warps the X pointer, which lands elsewhere in an unmanaged Xvfb)."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def separate_points(panel: LatentMapPanel, count: int) -> list[int]:
    """``count`` map points at least 20 px apart from every other point (clean clicks)."""
    points = np.array([panel.plot.widget_position(p).toTuple() for p in panel.latent_map.points])
    gaps = np.linalg.norm(points[:, None] - points[None], axis=2) + 1e9 * np.eye(len(points))
    lonely = [int(i) for i in np.argsort(-gaps.min(axis=1))[:count]]
    assert gaps[lonely].min() >= 20, "the tiny map has too few well separated points"
    return lonely


def test_the_map_shows_the_validation_codes_by_class_with_a_legend(
        view: ExploreView, session: ExplorerSession) -> None:
    panel = view.latent_map
    data = panel.latent_map.data
    _, val = session.shapes.split(session.config.val_fraction, session.config.seed)
    np.testing.assert_allclose(data.codes, session.encode(val.grids), atol=1e-5)
    np.testing.assert_allclose(panel.plot.points, lm.fit_pca(data.codes).points)
    legend = {label.text for _sample, label in panel.plot.legend.items}
    assert {val.class_names[k] for k in np.unique(val.labels)} <= legend
    assert {"prior samples", "current code"} <= legend
    # the gallery's prior samples and the current code are drawn in the same frame
    samples = np.column_stack(panel.plot.samples.getData())
    np.testing.assert_allclose(samples, panel.latent_map.projection.project(
        np.stack([s.code for s in view.gallery_shapes])), atol=1e-6)
    current = np.column_stack(panel.plot.current.getData())[0]
    np.testing.assert_allclose(current, panel.latent_map.projection.project(view.state.code),
                               atol=1e-6)


def test_clicking_a_point_loads_its_shape_into_the_view_and_the_sliders(
        qtbot, view: ExploreView) -> None:
    panel = view.latent_map
    index = separate_points(panel, 1)[0]
    click_point(qtbot, panel, index)
    code = panel.latent_map.data.codes[index]
    np.testing.assert_allclose(view.state.code, code)
    assert view.state.origin.label == panel.latent_map.data.names[index]
    qtbot.waitUntil(lambda: np.allclose(view.current_shape.code, code), timeout=WAIT_MS)
    slider = view.sliders.sliders[0]
    assert slider.value() == round(code[0] * 100)
    # the star follows the code
    star = np.column_stack(panel.plot.current.getData())[0]
    np.testing.assert_allclose(star, panel.latent_map.points[index], atol=1e-6)


def test_hovering_a_point_shows_its_thumbnail_and_name(qtbot, view: ExploreView) -> None:
    panel = view.latent_map
    index = separate_points(panel, 1)[0]
    with qtbot.waitSignal(panel.hoverShown, timeout=WAIT_MS):
        hover(panel.plot.viewport(), panel.plot.widget_position(panel.latent_map.points[index]))
    assert panel.hover.isVisible()
    assert panel.latent_map.data.names[index] in panel.hover_name.text()
    image = panel.hover_image.pixmap().toImage()
    assert image.width() > 0 and image.pixelColor(image.width() // 2,
                                                  image.height() // 2).alpha() > 0


def test_picked_shapes_make_an_interpolation_that_passes_through_each(
        qtbot, view: ExploreView) -> None:
    panel = view.latent_map
    first, second, third = separate_points(panel, 3)
    click_point(qtbot, panel, first)
    click_point(qtbot, panel, second, add=True)
    click_point(qtbot, panel, third, add=True)
    assert panel.picked == [first, second, third]
    steps = view.sequence.steps.value()
    with qtbot.waitSignal(view.sequence.frameChanged, timeout=WAIT_MS, raising=False):
        qtbot.mouseClick(panel.path_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(view.frames) == 2 * steps - 1, timeout=WAIT_MS)
    codes = panel.latent_map.data.codes
    for frame, index in ((0, first), (steps - 1, second), (2 * steps - 2, third)):
        np.testing.assert_allclose(view.frames[frame].code, codes[index])
    path = np.column_stack(panel.plot.path.getData())
    assert len(path) == 2 * steps - 1
    np.testing.assert_allclose(path[steps - 1], panel.latent_map.points[second], atol=1e-6)


def test_the_attribute_slider_moves_the_code_along_the_class_difference(
        qtbot, view: ExploreView) -> None:
    panel = view.latent_map
    data = panel.latent_map.data
    a, b = (int(k) for k in np.unique(data.labels)[:2])
    base = view.state.code.copy()
    for box, label in ((panel.attribute.group_a, a), (panel.attribute.group_b, b)):
        box.setFocus()
        for _ in range(label + 1):       # past "(choose)" to the class, as the arrow keys do
            qtbot.keyClick(box, Qt.Key.Key_Down)
        assert box.currentText() == data.class_names[label]
    direction = data.codes[data.labels == b].mean(0) - data.codes[data.labels == a].mean(0)
    np.testing.assert_allclose(panel.attribute.direction, direction)
    panel.attribute.amount.setFocus()
    for _ in range(5):
        qtbot.keyClick(panel.attribute.amount, Qt.Key.Key_PageUp)   # 0.10 each
    amount = panel.attribute.amount.value() / 100
    assert amount > 0
    np.testing.assert_allclose(view.state.code, base + amount * direction)
    qtbot.waitUntil(lambda: np.allclose(view.current_shape.code, view.state.code),
                    timeout=WAIT_MS)
    # a code from elsewhere becomes the new start: the slider goes back to 0
    view.state.reset_to_zero()
    assert panel.attribute.amount.value() == 0


def test_the_current_codes_nearest_shapes_are_shown_and_load_when_clicked(
        qtbot, view: ExploreView) -> None:
    panel = view.latent_map
    data = panel.latent_map.data
    expected = lm.nearest_neighbours(data.codes, view.state.code, NEIGHBOURS)
    qtbot.waitUntil(lambda: list(panel.neighbour_indices) == list(expected), timeout=WAIT_MS)
    assert panel.neighbours.count() == NEIGHBOURS
    item = panel.neighbours.item(2)
    qtbot.mouseClick(panel.neighbours.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.neighbours.visualItemRect(item).center())
    np.testing.assert_allclose(view.state.code, data.codes[expected[2]])


def test_tsne_runs_in_the_background_and_can_be_cancelled(qtbot, view: ExploreView,
                                                           warnings: list[str]) -> None:
    pytest.importorskip("openTSNE")
    panel = view.latent_map
    pca = panel.latent_map
    panel.method.setCurrentText(lm.TSNE)
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.status.text() == "Cancelled." and panel.latent_map is pca
    assert panel.method.currentText() == lm.PCA      # the map shown is still the PCA one
    with qtbot.waitSignal(panel.mapShown, timeout=WAIT_MS):
        panel.method.setCurrentText(lm.TSNE)
    assert not warnings
    assert panel.latent_map.projection.method == lm.TSNE
    assert panel.plot.points.shape == (len(pca.data), 2)


def test_picked_shapes_can_be_a_group(qtbot, view: ExploreView, warnings: list[str]) -> None:
    panel = view.latent_map
    data = panel.latent_map.data
    panel.attribute.group_b.setFocus()
    qtbot.keyClick(panel.attribute.group_b, Qt.Key.Key_End)    # "picked shapes", none picked
    assert warnings and "Pick shapes on the map first" in warnings[0]
    assert panel.attribute.group_b.currentIndex() == 0 and panel.attribute.direction is None
    first, second = separate_points(panel, 2)
    click_point(qtbot, panel, first)
    click_point(qtbot, panel, second, add=True)
    panel.attribute.group_a.setFocus()
    qtbot.keyClick(panel.attribute.group_a, Qt.Key.Key_Down)     # the first class
    panel.attribute.group_b.setFocus()
    qtbot.keyClick(panel.attribute.group_b, Qt.Key.Key_End)
    assert panel.attribute.group_b.currentText() == "picked shapes (2)"
    expected = data.codes[[first, second]].mean(0) - data.codes[data.labels == 0].mean(0)
    np.testing.assert_allclose(panel.attribute.direction, expected)
    assert panel.attribute.amount.isEnabled()
