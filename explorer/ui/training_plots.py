"""Live training plots: losses, IoU and latent statistics per epoch, drawn from the run's history.

Categorical models show their own statistics in the latent plots (mean entropy, perplexity and
mutual information per variable instead of mean(μ), Var(μ), log σ² and Var(μ_d)); the KL weight β
and the Gumbel-softmax temperature τ per epoch share a schedule plot.

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
from trainer.stats import ACTIVE_UNIT_THRESHOLD, ACTIVE_VARIABLE_NATS

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
    legend: bool = True


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
    _Plot("β (solid), τ (dashed) schedules", "value",
          (_Series("beta", "β", "#8c564b"), _Series("temperature", "τ", "#e377c2", True)),
          legend=False),
)

_CATEGORICAL_TITLES = {
    "mu_mean": ("Mean entropy of q(z_k|y)", "nats"),
    "mu_var": ("Mean perplexity (classes in use)", "classes"),
    "logvar_mean": ("Mean information I(y; z_k)", "nats"),
    "active_units": (f"Active variables (I > {ACTIVE_VARIABLE_NATS:g} nats)", "variables"),
}
"""For categorical models: the Gaussian latent plot -> what it shows instead."""


def _values(history: Sequence[EpochReport], field: str, categorical: bool) -> np.ndarray:
    """One value of a plot's series per report (NaN where the report has none)."""
    if categorical and field == "mu_mean":
        return np.array([r.entropy_mean for r in history], dtype=float)
    if categorical and field in ("mu_var", "logvar_mean"):
        per_var = "perplexity_per_var" if field == "mu_var" else "mutual_info_per_var"
        return np.array([np.mean(getattr(r, per_var)) if getattr(r, per_var) else np.nan
                         for r in history], dtype=float)
    return np.array([getattr(r, field) for r in history], dtype=float)


def _is_categorical(history: Sequence[EpochReport]) -> bool:
    return bool(history) and bool(history[-1].mutual_info_per_var)


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
        self.plots: dict[str, pg.PlotWidget] = {}   # the first series' field -> its plot
        self._targets: dict[str, pg.InfiniteLine] = {}
        self._categorical = False
        self._plot_of: dict[pg.PlotWidget, tuple[pg.PlotDataItem, ...]] = {}
        grid = QGridLayout()
        grid.setSpacing(6)
        widgets = [self._add_plot(spec) for spec in _PLOTS]
        *widgets, schedule = widgets        # the schedule plot sits beside the bar strip
        for i, widget in enumerate(widgets):
            grid.addWidget(widget, i // COLUMNS, i % COLUMNS)
        loss = widgets[0].getPlotItem()
        self.batch_curve = loss.plot(pen=pg.mkPen(BATCH, width=1), name="train (batches)")
        self.batch_curve.setZValue(-1)
        self.active_plot = self.plots["active_units"].getPlotItem()
        self.latent_line = _target_line(0.0, "Q")
        self.active_plot.addItem(self.latent_line)
        self.bar_plot = _new_plot("", "latent dimension d", "Var(μ_d)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.bar_plot.addItem(self.bars)
        self.bar_target = _target_line(1.0, "target 1")
        self.bar_plot.addItem(self.bar_target)
        self._set_mode(False)
        self.bar_plot.scene().sigMouseMoved.connect(self._on_hover_bars)
        rows = -(-len(widgets) // COLUMNS)
        grid.addWidget(self.bar_plot, rows, 0, 1, COLUMNS - 1)
        grid.addWidget(schedule, rows, COLUMNS - 1)
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
        if len(spec.series) > 1 and spec.legend:
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
            self._targets[spec.series[0].field] = _target_line(spec.target,
                                                               f"target {spec.target:g}")
            item.addItem(self._targets[spec.series[0].field])
        if spec.y_range is not None:
            item.setYRange(*spec.y_range)
        self._plot_of[widget] = tuple(curves)
        self.plots[spec.series[0].field] = widget
        widget.scene().sigMouseMoved.connect(
            lambda pos, w=widget: self._on_hover(w, pos))
        return widget

    # --- data -----------------------------------------------------------------------------------
    def show_history(self, history: Sequence[EpochReport]) -> None:
        """Set every curve from the run's reports (an empty history clears the plots)."""
        epochs = np.array([r.epoch for r in history], dtype=float)
        self._set_mode(_is_categorical(history))
        for field, curve in self.curves.items():
            values = _values(history, field, self._categorical)
            if np.isnan(values).all():      # a statistic this model does not have
                curve.setData([], [])
            else:
                curve.setData(epochs, values)
        self.plots["beta"].setVisible(any(r.beta is not None or r.temperature is not None
                                          for r in history))
        if not history:
            self.bars.setOpts(x=[], height=[], brushes=[])
            return
        last = history[-1]
        var = np.asarray(last.mutual_info_per_var if self._categorical else last.mu_var_per_dim,
                         dtype=float)
        active = ACTIVE_VARIABLE_NATS if self._categorical else ACTIVE_UNIT_THRESHOLD
        self.bars.setOpts(x=np.arange(len(var)), height=var, brushes=[
            ACTIVE_BAR if v > active else INACTIVE_BAR for v in var])
        self.bar_plot.setXRange(-0.6, len(var) - 0.4, padding=0)
        self.latent_line.setValue(last.latent_dim)
        self.latent_line.label.setFormat(f"{'K' if self._categorical else 'Q'} = "
                                         f"{last.latent_dim}")
        self.active_plot.setYRange(0, last.latent_dim * 1.1, padding=0)

    def _set_mode(self, categorical: bool) -> None:
        """Title the latent plots for Gaussian or categorical statistics."""
        self._categorical = categorical
        for field, (title, unit) in _CATEGORICAL_TITLES.items():
            spec = next(p for p in _PLOTS if p.series[0].field == field)
            item = self.plots[field].getPlotItem()
            item.setTitle(title if categorical else spec.title, color=TEXT, size="10pt")
            item.getAxis("left").setLabel(unit if categorical else spec.y_label, color=TEXT)
        for line in self._targets.values():
            line.setVisible(not categorical)
        self.bar_target.setVisible(not categorical)
        bars = self.bar_plot.getPlotItem()
        if categorical:
            bars.setTitle(f"I(y; z_k) per variable (red: ≤ {ACTIVE_VARIABLE_NATS:g} nats, "
                          "inactive)", color=TEXT, size="10pt")
        else:
            bars.setTitle(f"Var(μ_d) per dimension (red: ≤ {ACTIVE_UNIT_THRESHOLD:g}, "
                          "inactive)", color=TEXT, size="10pt")
        bars.getAxis("left").setLabel("I(y; z_k) nats" if categorical else "Var(μ_d)",
                                      color=TEXT)
        bars.getAxis("bottom").setLabel("categorical variable k" if categorical
                                        else "latent dimension d", color=TEXT)

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
        if self._categorical:
            state = "active" if heights[d] > ACTIVE_VARIABLE_NATS else "inactive"
            self.readout.setText(f"variable {d}:  I(y; z_k) {heights[d]:.4g} nats ({state})")
            return
        state = "active" if heights[d] > ACTIVE_UNIT_THRESHOLD else "inactive"
        self.readout.setText(f"dimension {d}:  Var(μ_d) {heights[d]:.4g} ({state})")
