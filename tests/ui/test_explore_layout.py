"""The Explore view's layout as a person meets it: latent sliders wide enough to drag, inactive
ones greyed but still sliders, a visible splitter handle whose position is remembered, and a
window that fits a 1280x720 screen."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QSlider

from explorer.explore_state import ExploreState
from explorer.ui.explore_sliders import SLIDER_MIN_WIDTH, LatentSliders, is_greyed
from explorer.ui.main_window import DEFAULT_SIZE, MainWindow
from explorer.ui.splitter import GripHandle
from trainer.config import TrainConfig
from trainer.families import family_of

WAIT_MS = 30_000


def _opened(launch, tiny_model, qtbot) -> MainWindow:
    """The window at its default size for a large enough screen (the test display is small)."""
    window = launch(tiny_model)
    window.resize(*DEFAULT_SIZE)
    qtbot.waitUntil(lambda: window.explore.session is not None and window._load_job is None,
                    timeout=WAIT_MS)
    qtbot.wait(50)                              # the layout settles
    return window


def test_sliders_are_at_least_120_px_wide_at_the_default_window_size(launch, tiny_model,
                                                                     qtbot) -> None:
    window = _opened(launch, tiny_model, qtbot)
    sliders = window.explore.sliders.sliders
    assert len(sliders) == 12
    assert min(slider.width() for slider in sliders) >= 120
    assert all(slider.isVisible() for slider in sliders)
    panel = window.explore.sliders
    qtbot.waitUntil(lambda: all(label.geometry().right() < panel._scroll.viewport().width()
                                for label in panel._variances), timeout=2000)   # not cut off


def test_inactive_dimensions_are_greyed_but_remain_full_sliders(qtbot) -> None:
    panel = LatentSliders(ExploreState())
    qtbot.addWidget(panel)
    panel.set_family(family_of(TrainConfig(latent_dim=2)), np.array([0.8, 0.002]))
    panel.resize(panel.sizeHint())
    panel.show()
    qtbot.waitExposed(panel)
    active, inactive = panel.sliders
    assert isinstance(inactive, QSlider) and inactive.isEnabled()
    assert inactive.width() == active.width() >= SLIDER_MIN_WIDTH
    assert inactive.height() == active.height()
    assert is_greyed(inactive) and not is_greyed(active)
    assert not inactive.styleSheet()            # a style sheet draws a slider as a bare box
    panel.set_family(family_of(TrainConfig(latent_dim=2)), np.array([0.8, 0.5]))  # now active
    assert not is_greyed(panel.sliders[1])


def test_the_splitter_has_visible_handles_and_its_layout_is_remembered(launch, tiny_model,
                                                                       qtbot) -> None:
    window = _opened(launch, tiny_model, qtbot)
    splitter = window.explore.splitter
    handles = [splitter.handle(i) for i in (1, 2)]
    assert all(isinstance(h, GripHandle) and h.isVisible() and h.width() >= 8 for h in handles)
    sizes = splitter.sizes()
    splitter.moveSplitter(sizes[0] + 60, 1)     # as a drag of the first handle does
    moved = splitter.sizes()
    assert moved != sizes
    window.close()
    assert not window.isVisible()

    again = _opened(launch, tiny_model, qtbot)
    assert again.explore.splitter.sizes() == moved


def test_the_window_fits_a_1280x720_screen(launch, tiny_model, qtbot) -> None:
    window = _opened(launch, tiny_model, qtbot)
    for tab in (window.training, window.explore):
        window.tabs.setCurrentWidget(tab)
        qtbot.wait(20)
        minimum = window.minimumSizeHint()
        assert minimum.width() <= 1240 and minimum.height() <= 640, minimum

