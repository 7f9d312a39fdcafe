"""Live training plots: losses, IoU and latent statistics per epoch, drawn from the run's history.

The curves are set from the history (the Trainer's list of EpochReports) on every report; the
only data kept here besides the curves is the per-batch loss the worker sends (about once a
second), which no report holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from trainer.report import BatchProgress, EpochReport
from trainer.stats import ACTIVE_UNIT_THRESHOLD

COLUMNS = 4
TEXT, TARGET, BATCH = "#202020", "#555555", "#9ecae1"
ACTIVE_BAR, INACTIVE_BAR = "#4c78a8", "#e45756"


@dataclass(frozen=True)
class _Series:
    field: str  # EpochReport attribute
    name: str
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class _Plot:
    title: str
    y_label: str
    series: tuple[_Series, ...]
    log_y: bool = False
    target: float | None = None
    y_range: tuple[float, float] | None = None


_PLOTS = (
    _Plot("Loss (negative ELBO)", "nats per shape",
          (_Series("train_loss", "train", "#1f77b4"),
           _Series("val_loss", "validation", "#d62728", True)), log_y=True),
    _Plot("Reconstruction term", "nats per shape",
          (_Series("train_recon", "train", "#1f77b4"),
           _Series("val_recon", "validation", "#d62728", True)), log_y=True),
    _Plot("KL term", "nats per shape",
          (_Series("train_kl", "train", "#2ca02c"),
           _Series("val_kl", "validation", "#ff7f0e", True))),
    _Plot("Validation IoU", "IoU", (_Series("val_iou", "IoU (decoded μ)", "#9467bd"),),
          y_range=(0.0, 1.0)),
    _Plot("mean(μ) (target 0)", "mean(μ)", (_Series("mu_mean", "mean(μ)", "#1f77b4"),),
          target=0.0),
    _Plot("Var(μ) (target 1)", "Var(μ)", (_Series("mu_var", "Var(μ)", "#1f77b4"),), target=1.0),
    _Plot("mean(log σ²)", "mean(log σ²)", (_Series("logvar_mean", "mean(log σ²)", "#1f77b4"),)),
    _Plot(f"Active units (Var(μ_d) > {ACTIVE_UNIT_THRESHOLD:g})", "units",
          (_Series("active_units", "active", "#2ca02c"),)),
)


def _dashed(color: str, width: float = 1.5) -> pg.QtGui.QPen:
    return pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine)


class _LogAxis(pg.AxisItem):
    """A log axis with minor ticks only at 2, 3 and 5 times a power of ten: labels never crowd."""

    def logTickValues(self, min_val: float, max_val: float, size: float,
                      std_ticks: list) -> list:
        levels = super().logTickValues(min_val, max_val, size, std_ticks)
        return [(spacing, [v for v in values if spacing is not None
                           or round(10 ** (v % 1)) in (1, 2, 3, 5)]) for spacing, values in levels]


def _new_plot(title: str, x_label: str, y_label: str, log_y: bool = False) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w", axisItems={"left": _LogAxis("left")} if log_y else None)
    widget.setMinimumSize(220, 160)
    item = widget.getPlotItem()
    item.setTitle(title, color=TEXT, size="10pt")
    for side, label in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        axis.setPen(TEXT)
        axis.setTextPen(TEXT)
        axis.setLabel(label, color=TEXT)
        axis.enableAutoSIPrefix(False)
    item.showGrid(x=True, y=True, alpha=0.15)
    return widget


def _target_line(value: float, label: str) -> pg.InfiniteLine:
    return pg.InfiniteLine(pos=value, angle=0, pen=_dashed(TARGET), label=label,
                           labelOpts={"position": 0.9, "color": TARGET,
                                      "fill": (255, 255, 255, 210)})


class TrainingPlots(QWidget):
    """A grid of pyqtgraph plots over epochs, a per-dimension Var(μ_d) bar strip and a hover
    readout. `curves` maps EpochReport fields to their PlotDataItems."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._plot_of: dict[pg.PlotWidget, tuple[pg.PlotDataItem, ...]] = {}
        grid = QGridLayout()
        grid.setSpacing(6)
        widgets = [self._add_plot(spec) for spec in _PLOTS]
        for i, widget in enumerate(widgets):
            grid.addWidget(widget, i // COLUMNS, i % COLUMNS)
        loss = widgets[0].getPlotItem()
        self.batch_curve = loss.plot(pen=pg.mkPen(BATCH, width=1), name="train (batches)")
        self.batch_curve.setZValue(-1)
        self.active_plot = widgets[-1].getPlotItem()
        self.latent_line = _target_line(0.0, "Q")
        self.active_plot.addItem(self.latent_line)
        self.bar_plot = _new_plot(f"Var(μ_d) per dimension (red: ≤ {ACTIVE_UNIT_THRESHOLD:g}, "
                                  "inactive)", "latent dimension d", "Var(μ_d)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.bar_plot.addItem(self.bars)
        self.bar_plot.addItem(_target_line(1.0, "target 1"))
        self.bar_plot.scene().sigMouseMoved.connect(self._on_hover_bars)
        rows = -(-len(widgets) // COLUMNS)
        grid.addWidget(self.bar_plot, rows, 0, 1, COLUMNS)
        for row in range(rows):
            grid.setRowStretch(row, 3)
        grid.setRowStretch(rows, 2)

        self.readout = QLabel("Hover over a plot to read its values; right-click to export.")
        self.readout.setStyleSheet("color: #444;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid, 1)
        layout.addWidget(self.readout)
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []

    def _add_plot(self, spec: _Plot) -> pg.PlotWidget:
        widget = _new_plot(spec.title, "epoch", spec.y_label, spec.log_y)
        item = widget.getPlotItem()
        if len(spec.series) > 1:
            item.addLegend(offset=(-8, 8), labelTextColor=TEXT, brush=(255, 255, 255, 200),
                           labelTextSize="8pt")
        item.setLogMode(y=spec.log_y)
        curves = []
        for s in spec.series:
            pen = _dashed(s.color, 2) if s.dashed else pg.mkPen(s.color, width=2)
            curve = item.plot(pen=pen, name=s.name, symbol="o", symbolSize=5,
                              symbolBrush=s.color, symbolPen=None)
            self.curves[s.field] = curve
            curves.append(curve)
        if spec.target is not None:
            item.addItem(_target_line(spec.target, f"target {spec.target:g}"))
        if spec.y_range is not None:
            item.setYRange(*spec.y_range)
        self._plot_of[widget] = tuple(curves)
        widget.scene().sigMouseMoved.connect(
            lambda pos, w=widget: self._on_hover(w, pos))
        return widget

    # --- data -----------------------------------------------------------------------------------
    def show_history(self, history: Sequence[EpochReport]) -> None:
        """Set every curve from the run's reports (an empty history clears the plots)."""
        epochs = np.array([r.epoch for r in history], dtype=float)
        for field, curve in self.curves.items():
            curve.setData(epochs, np.array([getattr(r, field) for r in history], dtype=float))
        if not history:
            self.bars.setOpts(x=[], height=[], brushes=[])
            return
        last = history[-1]
        var = np.asarray(last.mu_var_per_dim, dtype=float)
        self.bars.setOpts(x=np.arange(len(var)), height=var, brushes=[
            ACTIVE_BAR if v > ACTIVE_UNIT_THRESHOLD else INACTIVE_BAR for v in var])
        self.bar_plot.setXRange(-0.6, len(var) - 0.4, padding=0)
        self.latent_line.setValue(last.latent_dim)
        self.latent_line.label.setFormat(f"Q = {last.latent_dim}")
        self.active_plot.setYRange(0, last.latent_dim * 1.1, padding=0)

    def add_batch_loss(self, progress: BatchProgress) -> None:
        """Append the loss of one batch to the live curve (the worker throttles these)."""
        self._batch_x.append(progress.epoch - 1 + progress.batch / progress.batches)
        self._batch_y.append(progress.loss)
        self.batch_curve.setData(self._batch_x, self._batch_y)

    def clear(self) -> None:
        self._batch_x, self._batch_y = [], []
        self.batch_curve.setData([], [])
        self.show_history([])

    # --- hover readout --------------------------------------------------------------------------
    def _on_hover(self, widget: pg.PlotWidget, pos: QPointF) -> None:
        item = widget.getPlotItem()
        if not item.sceneBoundingRect().contains(pos):
            return
        x = item.vb.mapSceneToView(pos).x()
        parts = []
        for curve in self._plot_of[widget]:
            xs, ys = curve.getOriginalDataset()
            if xs is None or len(xs) == 0:
                continue
            i = int(np.abs(xs - x).argmin())
            parts.append(f"{curve.name()} {ys[i]:.4g}")
            epoch = int(xs[i])
        if parts:
            self.readout.setText(f"epoch {epoch}:  " + "   ".join(parts))

    def _on_hover_bars(self, pos: QPointF) -> None:
        heights = self.bars.opts.get("height")
        if heights is None or len(heights) == 0:
            return
        x = self.bar_plot.getPlotItem().vb.mapSceneToView(pos).x()
        d = int(np.clip(round(x), 0, len(heights) - 1))
        state = "active" if heights[d] > ACTIVE_UNIT_THRESHOLD else "inactive"
        self.readout.setText(f"dimension {d}:  Var(μ_d) {heights[d]:.4g} ({state})")
