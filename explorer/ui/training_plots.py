"""Live training plots: losses, IoU and latent statistics per epoch, drawn from the run's history.

The four latent plots and the bar strip show the statistics the run's latent family names
(trainer.families: mean(μ), Var(μ), log σ² and Var(μ_d) for Gaussian codes; entropy, perplexity
and mutual information for categorical ones); the KL weight β and the Gumbel-softmax temperature
τ per epoch share a schedule plot.

The curves are set from the history (the Trainer's list of EpochReports) on every report; the
only data kept here besides the curves is the per-batch loss the worker sends (about once a
second), which no report holds. Other runs (opened checkpoints) can be overlaid, each in one
colour: solid for the first series of a plot (train, β), dashed for the second (validation, τ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, floor

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from trainer.families import LatentFamily, Statistic, family_named
from trainer.report import BatchProgress, EpochReport

COLUMNS = 4
TEXT, TARGET, BATCH = "#202020", "#555555", "#9ecae1"
ACTIVE_BAR, INACTIVE_BAR = "#4c78a8", "#e45756"
BAR_PLOT_MIN_HEIGHT = 170


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
    _Plot("β (solid), τ (dashed) schedules", "value",
          (_Series("beta", "β", "#8c564b"), _Series("temperature", "τ", "#e377c2", True)),
          legend=False),
)


@dataclass(frozen=True)
class OverlaidRun:
    """A run drawn over the plots: its legend text, colour and history."""

    label: str
    color: str
    history: Sequence[EpochReport]


RUN_COLORS = ("#e6550d", "#31a354", "#756bb1", "#636363", "#e7298a", "#17becf", "#bcbd22",
              "#8c510a")
"""Colours of overlaid runs, in the order they are opened."""


@dataclass(frozen=True)
class _LatentSlot:
    """A plot that shows one statistic of the latent family: its curve and target line."""

    widget: pg.PlotWidget
    curve: pg.PlotDataItem
    target: pg.InfiniteLine


LATENT_PLOTS = 4
"""Plots of the latent family's statistics, after the first four plots."""
LATENT_COLOR = "#1f77b4"


def _values(history: Sequence[EpochReport], field: str) -> np.ndarray:
    """One value of a plot's series per report (NaN where the report has none)."""
    return np.array([np.nan if getattr(r, field) is None else getattr(r, field)
                     for r in history], dtype=float)


def _has_schedule(history: Sequence[EpochReport]) -> bool:
    """Whether a run logged a KL weight or a temperature (the schedule plot has a curve)."""
    return any(r.beta is not None or r.temperature is not None for r in history)


def _dashed(color: str, width: float = 1.5) -> pg.QtGui.QPen:
    return pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine)


class _LogAxis(pg.AxisItem):
    """A log axis with minor ticks only at 2, 3 and 5 times a power of ten: labels never crowd."""

    def logTickValues(self, min_val: float, max_val: float, size: float,
                      std_ticks: list) -> list:
        levels = super().logTickValues(min_val, max_val, size, std_ticks)
        sparse = [(spacing, [v for v in values if spacing is not None
                             or round(10 ** (v % 1)) in (1, 2, 3, 5)])
                  for spacing, values in levels]
        if sum(len(values) for _, values in sparse) >= 2:
            return sparse
        # A range within one decade may hold at most one of them: ticks at two significant
        # digits instead, about four of them.
        fine = [decade + np.log10(mantissa / 10) for decade in range(floor(min_val),
                                                                   ceil(max_val))
                for mantissa in range(10, 100)]
        fine = [v for v in fine if min_val <= v <= max_val]
        return [(None, fine[::max(1, len(fine) // 4)])]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        """Plain numbers (410, 1000, 0.5) for the tick values, which are powers of ten."""
        return [np.format_float_positional(10 ** v * scale, precision=3, unique=True,
                                           fractional=False, trim="-") for v in values]


def _new_plot(title: str, x_label: str, y_label: str, log_y: bool = False) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w", axisItems={"left": _LogAxis("left")} if log_y else None)
    widget.setMinimumSize(170, 130)
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
    """A grid of pyqtgraph plots over epochs, a bar strip of the latent family's measure per
    dimension (or variable) and a hover readout. `curves` and `plots` map the EpochReport fields
    shown to their PlotDataItems and plots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.plots: dict[str, pg.PlotWidget] = {}   # the first series' field -> its plot
        self._plot_of: dict[pg.PlotWidget, tuple[pg.PlotDataItem, ...]] = {}
        self._series_plot: dict[str, tuple[pg.PlotWidget, bool, bool]] = {}
        """Each plotted report field -> its plot, whether dashed, whether on a log axis."""
        self.overlays: dict[str, list[pg.PlotDataItem]] = {}   # run label -> its curves
        self._runs: tuple[OverlaidRun, ...] = ()
        grid = QGridLayout()
        grid.setSpacing(6)
        *widgets, schedule = [self._add_plot(spec) for spec in _PLOTS]
        self._latent_slots = [self._add_latent_plot() for _ in range(LATENT_PLOTS)]
        widgets += [slot.widget for slot in self._latent_slots]  # the schedule sits by the bars
        for i, widget in enumerate(widgets):
            grid.addWidget(widget, i // COLUMNS, i % COLUMNS)
        loss = widgets[0].getPlotItem()
        self.batch_curve = loss.plot(pen=pg.mkPen(BATCH, width=1), name="train (batches)")
        self.batch_curve.setZValue(-1)
        self.active_plot = self._latent_slots[-1].widget.getPlotItem()
        self.latent_line = _target_line(0.0, "Q")
        self.active_plot.addItem(self.latent_line)
        self.bar_plot = _new_plot("", "latent dimension d", "Var(μ_d)")
        self.bar_plot.setMinimumHeight(BAR_PLOT_MIN_HEIGHT)   # room for the axis title
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.bar_plot.addItem(self.bars)
        self.inactive_marks = pg.ScatterPlotItem(   # a bar of height ~0 does not show
            symbol="t1", size=9, pen=None, brush=INACTIVE_BAR)
        self.bar_plot.addItem(self.inactive_marks)
        self.bar_target = _target_line(1.0, "target 1")
        self.bar_plot.addItem(self.bar_target)
        self._latent_fields: dict[str, Statistic] = {}
        self.family: type[LatentFamily] = family_named("")
        self._show_family(self.family)
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
        self._set_empty_axes(True)

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
            self._series_plot[s.field] = (widget, s.dashed, spec.log_y)
            curves.append(curve)
        if spec.y_range is not None:
            item.setYRange(*spec.y_range)
        self._plot_of[widget] = tuple(curves)
        self.plots[spec.series[0].field] = widget
        widget.scene().sigMouseMoved.connect(
            lambda pos, w=widget: self._on_hover(w, pos))
        return widget

    def _add_latent_plot(self) -> _LatentSlot:
        """An empty plot for one of the latent family's statistics (see `_show_family`)."""
        widget = _new_plot("", "epoch", "")
        curve = widget.getPlotItem().plot(pen=pg.mkPen(LATENT_COLOR, width=2), symbol="o",
                                          symbolSize=5, symbolBrush=LATENT_COLOR, symbolPen=None)
        target = _target_line(0.0, "")
        widget.getPlotItem().addItem(target)
        self._plot_of[widget] = (curve,)
        widget.scene().sigMouseMoved.connect(lambda pos, w=widget: self._on_hover(w, pos))
        return _LatentSlot(widget, curve, target)

    # --- data -----------------------------------------------------------------------------------
    def show_history(self, history: Sequence[EpochReport]) -> None:
        """Set every curve from the run's reports (an empty history clears the plots)."""
        epochs = np.array([r.epoch for r in history], dtype=float)
        family = family_named(history[-1].family if history else "")
        if family is not self.family:
            self._show_family(family)
        for field, curve in self.curves.items():
            values = _values(history, field) if field not in self._latent_fields else \
                self._latent_fields[field].values(history)
            if np.isnan(values).all():      # a statistic this model does not have
                curve.setData([], [])
            else:
                curve.setData(epochs, values)
        self.plots["beta"].setVisible(_has_schedule(history) or any(
            _has_schedule(run.history) for run in self._runs))
        self._set_empty_axes(not history and not self._runs)
        if not history:
            self.bars.setOpts(x=[], height=[], brushes=[])
            self.inactive_marks.setData([], [])
            return
        last = history[-1]
        measure = family.measure
        var = measure.values(last, len(getattr(last, measure.field)))
        self.bars.setOpts(x=np.arange(len(var)), height=var, brushes=[
            ACTIVE_BAR if v > measure.threshold else INACTIVE_BAR for v in var])
        inactive = np.flatnonzero(~(var > measure.threshold))
        self.inactive_marks.setData(inactive.astype(float), np.zeros(len(inactive)))
        self.bar_plot.setXRange(-0.6, len(var) - 0.4, padding=0)
        self.latent_line.setValue(last.latent_dim)
        self.latent_line.label.setFormat(f"{family.size_symbol} = {last.latent_dim}")
        self.active_plot.setYRange(0, last.latent_dim * 1.1, padding=0)

    def _set_empty_axes(self, empty: bool) -> None:
        """Without data: epochs 1-10 and a y range that suits each plot (autoscaling an empty
        plot gives odd axes); with data: autoscale again (the IoU keeps its fixed range)."""
        for spec in _PLOTS:
            item = self.plots[spec.series[0].field].getPlotItem()
            self._set_range(item, empty, spec.y_range or ((1.0, 3.0) if spec.log_y
                                                          else (0.0, 1.0)), spec.y_range)
        for slot in self._latent_slots:
            self._set_range(slot.widget.getPlotItem(), empty, (0.0, 1.0), None)
        self._set_range(self.bar_plot.getPlotItem(), empty, (0.0, 1.0), None, x=(-0.6, 9.4))

    @staticmethod
    def _set_range(item: pg.PlotItem, empty: bool, y: tuple[float, float],
                   fixed_y: tuple[float, float] | None, x: tuple[float, float] = (1, 10)) -> None:
        if empty:
            item.setXRange(*x, padding=0.02)
            item.setYRange(*y, padding=0.02)
        else:
            item.enableAutoRange(x=True, y=fixed_y is None)

    def _show_family(self, family: type[LatentFamily]) -> None:
        """Title the latent plots and the bar strip with the family's statistics; `curves` and
        `plots` name the latent curves by the report fields they show."""
        for field in self._latent_fields:
            self.curves.pop(field, None)
            self.plots.pop(field, None)
        self.family = family
        self._latent_fields = {}
        for slot, stat in zip(self._latent_slots, family.statistics, strict=True):
            item = slot.widget.getPlotItem()
            item.setTitle(stat.title, color=TEXT, size="10pt")
            item.getAxis("left").setLabel(stat.unit, color=TEXT)
            slot.curve.opts["name"] = stat.unit
            slot.target.setVisible(stat.target is not None)
            if stat.target is not None:
                slot.target.setValue(stat.target)
                slot.target.label.setFormat(f"target {stat.target:g}")
            self.curves[stat.field], self.plots[stat.field] = slot.curve, slot.widget
            self._latent_fields[stat.field] = stat
        measure = family.measure
        self.bar_target.setVisible(measure.target is not None)
        bars = self.bar_plot.getPlotItem()
        unit = f" {measure.unit}" if measure.unit else ""
        bars.setTitle(f"{measure.symbol} per {family.unit_name} (red: ≤ {measure.threshold:g}"
                      f"{unit}, inactive)", color=TEXT, size="10pt")
        bars.getAxis("left").setLabel(f"{measure.symbol}{unit}", color=TEXT)
        bars.getAxis("bottom").setLabel(family.unit_axis, color=TEXT)

    def show_runs(self, runs: Sequence[OverlaidRun]) -> None:
        """Overlay these runs' histories (replacing the ones overlaid before); the latent plots
        show the statistics of the family on display."""
        for curves in self.overlays.values():
            for curve in curves:
                curve.getViewBox().removeItem(curve)
        self.overlays = {}
        targets = dict(self._series_plot)
        targets.update({field: (self.plots[field], False, False)
                        for field in self._latent_fields})
        for run in runs:
            epochs = np.array([r.epoch for r in run.history], dtype=float)
            curves = []
            for field, (widget, dashed, log_y) in targets.items():
                stat = self._latent_fields.get(field)
                values = stat.values(run.history) if stat else _values(run.history, field)
                if not len(values) or np.isnan(values).all():
                    continue
                pen = _dashed(run.color, 2) if dashed else pg.mkPen(run.color, width=2)
                curve = pg.PlotDataItem(epochs, values, pen=pen, symbol="o", symbolSize=4,
                                        symbolBrush=run.color, symbolPen=None,
                                        name=f"{run.label}: {field}")
                curve.setLogMode(False, log_y)
                widget.getPlotItem().vb.addItem(curve)
                curves.append(curve)
            self.overlays[run.label] = curves
        self._runs = tuple(runs)
        if runs:
            self._set_empty_axes(False)
            self.plots["beta"].setVisible(self.plots["beta"].isVisible() or any(
                _has_schedule(run.history) for run in runs))

    def add_batch_loss(self, progress: BatchProgress) -> None:
        """Append the loss of one batch to the live curve (the worker throttles these)."""
        self._batch_x.append(progress.epoch - 1 + progress.batch / progress.batches)
        self._batch_y.append(progress.loss)
        self.batch_curve.setData(self._batch_x, self._batch_y)
        self.plots["train_loss"].getPlotItem().enableAutoRange()   # before the first report

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
        overlaid = [c for curves in self.overlays.values() for c in curves
                    if c.getViewBox() is item.vb]
        for curve in (*self._plot_of[widget], *overlaid):
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
        measure = self.family.measure
        state = "active" if heights[d] > measure.threshold else "inactive"
        unit = f" {measure.unit}" if measure.unit else ""
        self.readout.setText(f"{self.family.unit_name} {d}:  {measure.symbol} "
                             f"{heights[d]:.4g}{unit} ({state})")
