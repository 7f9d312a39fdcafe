"""Run comparison in the Training view: overlay opened runs, legend, remove, PNG and CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QPushButton

from explorer.ui.training_view import TrainingView
from trainer.checkpoint import Checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.families import family_of
from trainer.report import EpochReport
from trainer.run_comparison import read_histories_csv

TINY = dict(resolution=16, latent_dim=2, channels=(4, 4, 4, 4), pose="none")


def report(epoch: int, iou: float) -> EpochReport:
    return EpochReport(epoch=epoch, train_loss=10.0 / epoch, train_recon=9.0, train_kl=1.0,
                       val_loss=11.0 / epoch, val_recon=10.0, val_kl=1.0, val_iou=iou,
                       val_hamming=0.1, mu_mean=0.1, mu_var=0.9, logvar_mean=-1.0,
                       mu_mean_per_dim=(0.1, 0.1), mu_var_per_dim=(0.9, 0.8), active_units=2,
                       latent_dim=2, lr=1e-3, samples_per_s=100.0, elapsed_s=1.0)


def write_run(path: Path, lr: float, ious: list[float]) -> Path:
    config = TrainConfig(**TINY, lr=lr)
    state = family_of(config).build_model().state_dict()
    history = [report(e, iou) for e, iou in enumerate(ious, 1)]
    return save_checkpoint(path, Checkpoint(config, state, epoch=len(ious), history=history))


@pytest.fixture
def view(qtbot) -> TrainingView:
    widget = TrainingView()
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    return widget


def open_runs(qtbot, monkeypatch, view: TrainingView, paths: list[Path]) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *_a, **_k: ([str(p) for p in paths], ""))
    with qtbot.waitSignal(view.comparison.changed, timeout=20_000):
        qtbot.mouseClick(button(view, "Compare runs..."), Qt.MouseButton.LeftButton)


def button(view: TrainingView, text: str) -> QPushButton:
    return next(b for b in view.comparison.findChildren(QPushButton) if b.text() == text)


def test_two_runs_are_overlaid_with_their_data_and_a_legend_of_what_differs(
        qtbot, monkeypatch, view, tmp_path):
    a = write_run(tmp_path / "a.pt", 1e-3, [0.2, 0.5, 0.7])
    b = write_run(tmp_path / "b.pt", 5e-4, [0.1, 0.3])
    open_runs(qtbot, monkeypatch, view, [a, b])

    legend = view.comparison.legend
    assert [legend.item(i).text() for i in range(legend.count())] == \
        ["a (lr=0.001)", "b (lr=0.0005)"]
    overlays = view.plots.overlays
    assert list(overlays) == ["a (lr=0.001)", "b (lr=0.0005)"]
    iou_plot = view.plots.plots["val_iou"].getPlotItem().vb
    ious = {label: next(c for c in curves if c.getViewBox() is iou_plot)
            for label, curves in overlays.items()}
    x, y = ious["a (lr=0.001)"].getData()
    assert list(x) == [1, 2, 3] and np.allclose(y, [0.2, 0.5, 0.7])
    x, y = ious["b (lr=0.0005)"].getData()
    assert list(x) == [1, 2] and np.allclose(y, [0.1, 0.3])
    colours = {c.opts["pen"].color().name() for c in ious.values()}
    assert len(colours) == 2
    loss_plot = view.plots.plots["train_loss"].getPlotItem().vb
    loss = next(c for c in overlays["a (lr=0.001)"] if c.getViewBox() is loss_plot)
    assert list(loss.opts["logMode"]) == [False, True]     # drawn on the plot's log axis

    legend.item(0).setSelected(True)
    qtbot.mouseClick(button(view, "Remove"), Qt.MouseButton.LeftButton)
    assert list(view.plots.overlays) == ["b"]   # one run left: nothing differs
    assert ious["a (lr=0.001)"].getViewBox() is None     # its curves left the plots
    left = next(c for c in view.plots.overlays["b"] if c.getViewBox() is iou_plot)
    assert np.allclose(left.getData()[1], [0.1, 0.3])


def test_histories_export_as_csv_and_plots_as_png(qtbot, monkeypatch, view, tmp_path):
    a = write_run(tmp_path / "a.pt", 1e-3, [0.2, 0.5])
    b = write_run(tmp_path / "b.pt", 2e-3, [0.4])
    open_runs(qtbot, monkeypatch, view, [a, b])

    csv_path = tmp_path / "out" / "h.csv"
    csv_path.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(csv_path), ""))
    with qtbot.waitSignal(view.comparison.exported, timeout=10_000):
        qtbot.mouseClick(button(view, "Histories as CSV..."), Qt.MouseButton.LeftButton)
    runs = read_histories_csv(csv_path)
    assert list(runs) == ["a (lr=0.001)", "b (lr=0.002)"]
    assert [r.val_iou for r in runs["a (lr=0.001)"]] == [0.2, 0.5]

    png = tmp_path / "out" / "plots"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(png), ""))
    with qtbot.waitSignal(view.comparison.exported, timeout=10_000):
        qtbot.mouseClick(button(view, "Plots as PNG..."), Qt.MouseButton.LeftButton)
    image = QImage(str(png) + ".png")
    assert not image.isNull()
    assert image.height() > view.plots.height() and image.width() == view.plots.width()
    assert "Wrote" in view.status.text()


def test_an_unreadable_file_is_reported_and_the_others_open(qtbot, monkeypatch, view, tmp_path):
    good = write_run(tmp_path / "good.pt", 1e-3, [0.3])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(view.error, timeout=20_000) as error:
        open_runs(qtbot, monkeypatch, view, [bad, good])
    assert "bad.pt" in error.args[0]
    assert list(view.plots.overlays) == ["good"]
