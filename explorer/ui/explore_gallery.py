"""The prior-sample gallery: seed, temperature, "New samples" and a grid of thumbnails."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.explore_state import ExploreState
from explorer.ui.actions import command
from explorer.ui.explore_tiles import TileList

_TEMPERATURE_TIP = ("Samples are z ~ N(0, T² I). T < 1 draws codes nearer the centre of the "
                    "latent space, T > 1 farther out. Nearer the centre gives more typical "
                    "shapes only where the model's centre decodes to shapes: the bundled "
                    "model's decodes to blurs, and at T = 0.5 41 of 200 of its samples have no "
                    "surface (6 of 200 at T = 1).")
_SOURCE_TIP = ("Where the samples come from: the prior N(0, T² I), or one Gaussian per class "
               "fitted to the codes of the training shapes, which lands where the data's codes "
               "are (far fewer empty samples; benchmarks/README.md)")
TILE = 96


class GalleryPanel(QGroupBox):
    """Edits the state's gallery recipe (seed and temperature) and shows the samples' tiles.

    "New samples" moves the state to the next seed, unless a seed was typed; editing the seed
    or temperature sets them. ``picked(index)`` fires when a tile is clicked or reached with
    the keyboard; the tile of the sample the state's code came from is highlighted.
    """

    picked = Signal(int)

    def __init__(self, state: ExploreState, parent: QWidget | None = None) -> None:
        super().__init__("Prior samples", parent)
        self._state = state
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, keyboardTracking=False)
        self.seed.setToolTip("Random seed of the samples: the same seed gives the same shapes")
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=3.0, singleStep=0.1, value=1.0,
                                          decimals=2, keyboardTracking=False)
        self.temperature.setToolTip(_TEMPERATURE_TIP)
        self.new_samples = QPushButton("New samples")
        self.source = QComboBox()
        self.source.addItem("prior N(0, I)", "prior")
        self.source.addItem("fitted to the data", "fitted")
        self.source.setToolTip(_SOURCE_TIP)
        self.tiles = TileList(TILE, single_row=False)
        self.tiles.setMinimumSize(2 * (TILE + 10) + 24, 2 * (TILE + 24) + 8)

        controls = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(self.new_samples)
        controls.addRow("Seed", row)
        controls.addRow("Temperature", self.temperature)
        controls.addRow("Sample from", self.source)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.tiles, 1)

        self._seed_typed = False   # typed into the seed box, not yet applied by Enter
        self.new_samples_action = command("&New samples", self, self.new_samples)
        """Draws the next seed's samples; the button and the window's menu trigger it."""
        self.new_samples_action.triggered.connect(self._next_seed)
        self.seed.lineEdit().textEdited.connect(self._on_seed_typed)
        self.seed.lineEdit().returnPressed.connect(self._on_seed_entered)
        self.seed.valueChanged.connect(lambda seed: state.set_gallery(seed=seed))
        self.temperature.valueChanged.connect(lambda t: state.set_gallery(temperature=t))
        self.source.currentIndexChanged.connect(
            lambda _i: state.set_gallery(source=self.source.currentData()))
        self.tiles.picked.connect(self.picked)
        state.subscribe("session", self._on_session)
        state.subscribe("gallery", self._on_recipe)
        state.subscribe("code", self._on_code)

    def _on_session(self, state: ExploreState) -> None:
        if state.session is not None:
            self.set_tempered(state.session.family.tempered_prior)
            self.set_fittable(state.session.can_fit_density)

    def set_fittable(self, fittable: bool) -> None:
        """Offer sampling a density fitted to the data set's codes (Gaussian codes, data set
        loaded)."""
        self.source.model().item(1).setEnabled(fittable)
        self.source.setToolTip(_SOURCE_TIP if fittable else _SOURCE_TIP + " (needs Gaussian "
                               "codes and the model's data set, which is not loaded)")

    def _on_recipe(self, state: ExploreState) -> None:
        """Show the state's seed and temperature (without setting them again)."""
        for box, value in ((self.seed, state.gallery.seed),
                           (self.temperature, state.gallery.temperature)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.source.blockSignals(True)
        self.source.setCurrentIndex(self.source.findData(state.gallery.source))
        self.source.blockSignals(False)

    def _on_code(self, state: ExploreState) -> None:
        """Highlight the sample the code came from, or none."""
        if state.origin.kind == "gallery" and state.origin.index is not None:
            self.select(state.origin.index)
        else:
            self.unselect()

    def set_tempered(self, tempered: bool) -> None:
        """Whether the model's prior takes a temperature (categorical priors draw uniform
        classes: it does not apply)."""
        self.temperature.setEnabled(tempered)
        self.temperature.setToolTip(_TEMPERATURE_TIP if tempered else
            "Categorical samples draw a uniformly random class per variable; the temperature "
            "does not apply")

    def show_samples(self, thumbnails: list[np.ndarray | None]) -> None:
        self.tiles.set_tiles(thumbnails, [f"#{i + 1}" for i in range(len(thumbnails))])

    def sizeHint(self) -> QSize:
        """Wide enough for three columns of tiles (two at the least, see the minimum)."""
        hint = super().sizeHint()
        tiles = (3 * (TILE + 10) + 2 * self.tiles.frameWidth() + 8
                 + self.tiles.verticalScrollBar().sizeHint().width())
        margins, frame = self.layout().contentsMargins(), self.contentsMargins()
        around = margins.left() + margins.right() + frame.left() + frame.right()
        return QSize(max(hint.width(), tiles + around), hint.height())

    def select(self, index: int) -> None:
        """Highlight sample ``index`` (the one in the 3D view) without emitting ``picked``."""
        self.tiles.select(index)

    def unselect(self) -> None:
        """Highlight no sample: the 3D view shows another shape."""
        self.tiles.unselect()

    def _on_seed_typed(self) -> None:
        self._seed_typed = True

    def _on_seed_entered(self) -> None:
        """Enter applied the typed seed (leaving the box for "New samples" leaves it to the
        button)."""
        self._seed_typed = False

    def _next_seed(self) -> None:
        """The typed seed when one was typed since, else the next seed."""
        if self._seed_typed:
            self._seed_typed = False
            self.seed.interpretText()   # a changed value sets the state's seed
            return
        self._state.next_gallery()
