"""The Complete view's panel for training a completion encoder (AML) for the open model: epochs
and shapes, Train / Stop, a progress bar and a plot of the validation IoU and the training loss
per epoch."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from explorer.completion_tasks import TrainingProgress
from trainer.completion.amortised import CompletionConfig

DEFAULT_EPOCHS = 5
PLOT_HEIGHT = 150
IOU_PEN, LOSS_PEN = "#4c78a8", "#f58518"


class EncoderPanel(QGroupBox):
    """``trainRequested(config)`` when Train is pressed; ``stopRequested`` for Stop."""

    trainRequested = Signal(object)
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Completion encoder (AML)", parent)
        self.status = QLabel(wordWrap=True)
        self.epochs = QSpinBox(minimum=1, maximum=1000, value=DEFAULT_EPOCHS)
        self.shapes = QSpinBox(minimum=0, maximum=1_000_000, value=0, specialValueText="all")
        self.shapes.setToolTip("Train on at most this many of the model's training shapes")
        self.train = QPushButton("Train encoder")
        self.train.setToolTip("Train an encoder from partial scans to this model's codes "
                              "(written beside the checkpoint after every epoch)")
        self.stop = QPushButton("Stop")
        self.stop.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setFixedHeight(PLOT_HEIGHT)
        self.plot.setLabel("bottom", "epoch")
        self.plot.addLegend(offset=(-5, 5))
        self.iou_curve = self.plot.plot([], [], pen=pg.mkPen(IOU_PEN, width=2), symbol="o",
                                        symbolSize=5, name="val IoU")
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen(LOSS_PEN, width=2),
                                         name="loss / first")
        layout = QGridLayout(self)
        layout.addWidget(self.status, 0, 0, 1, 4)
        layout.addWidget(QLabel("Epochs"), 1, 0)
        layout.addWidget(self.epochs, 1, 1)
        layout.addWidget(QLabel("Shapes"), 1, 2)
        layout.addWidget(self.shapes, 1, 3)
        layout.addWidget(self.train, 2, 0, 1, 2)
        layout.addWidget(self.stop, 2, 2, 1, 2)
        layout.addWidget(self.progress, 3, 0, 1, 4)
        layout.addWidget(self.plot, 4, 0, 1, 4)
        self.train.clicked.connect(
            lambda: self.trainRequested.emit(self.config()))
        self.stop.clicked.connect(self.stopRequested)
        self.set_running(False)

    def config(self) -> CompletionConfig:
        return CompletionConfig(epochs=self.epochs.value(), shapes=self.shapes.value())

    def set_running(self, running: bool) -> None:
        self.train.setEnabled(not running)
        self.stop.setEnabled(running)
        self.epochs.setEnabled(not running)
        self.shapes.setEnabled(not running)
        if running:
            self.progress.setFormat("starting")
            self.progress.setValue(0)
            self.iou_curve.setData([], [])
            self.loss_curve.setData([], [])

    def show_progress(self, progress: TrainingProgress) -> None:
        """The batch bar and the per-epoch curves (the loss relative to the first epoch's,
        so both fit one axis)."""
        if progress.batch is not None:
            b = progress.batch
            self.progress.setFormat(f"epoch {b.epoch}: batch %v of %m, loss {b.loss:.1f}"
                                    if b.epoch else "scanning prior samples: %v of %m")
            self.progress.setMaximum(b.batches)
            self.progress.setValue(b.batch)
        history = progress.history
        if history:
            epochs = [r.epoch for r in history]
            first = history[0].train_loss or 1.0
            self.iou_curve.setData(epochs, [r.val_iou for r in history])
            self.loss_curve.setData(epochs, [r.train_loss / first for r in history])

    def epochs_plotted(self) -> int:
        """How many epochs the IoU curve shows."""
        x, _ = self.iou_curve.getData()
        return 0 if x is None else len(x)
