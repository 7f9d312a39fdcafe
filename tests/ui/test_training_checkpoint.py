"""File > Open checkpoint / Save checkpoint as, through the menu actions, on background threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest

from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.loop import Trainer

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory) -> Path:
    """A 2-epoch run with settings that differ from the defaults."""
    config = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16), batch_size=8,
                         epochs=2, lr=3e-3, beta=0.5, samples=2, seed=5, dataset_size=40,
                         likelihood="bernoulli")
    trainer = Trainer(config, *load_shapes(config).split(config.val_fraction, config.seed))
    trainer.run()
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "run.pt", trainer.checkpoint())


def test_open_restores_config_plots_and_model_then_save_writes_it(
        window, dialogs, qtbot, monkeypatch, checkpoint_file, tmp_path) -> None:
    explored = []
    monkeypatch.setattr(window.explore, "set_session", lambda s, **_: explored.append(s))
    dialogs.open_path = str(checkpoint_file)
    window.open_action.trigger()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=WAIT_MS)

    saved = load_checkpoint(checkpoint_file)
    form = window.training.form
    assert form.config() == saved.config
    assert form.fields["beta"].text() == "0.5" and form.resolution.currentText() == "16"
    x, y = window.training.plots.curves["val_loss"].getOriginalDataset()
    np.testing.assert_array_equal(x, [1, 2])
    np.testing.assert_allclose(y, [r.val_loss for r in saved.history])
    session = explored[0]
    assert session is window.snapshot.session and session.history == saved.history
    qtbot.waitUntil(lambda: session.shapes is not None, timeout=WAIT_MS)   # after the model
    assert len(session.shapes) == 40 and window.snapshot.session is session  # regenerated
    assert window.training.recon.tiles[0][1].pixmap() is not None

    dialogs.save_path = str(tmp_path / "copy.pt")
    window.save_action.trigger()
    qtbot.waitUntil(lambda: (tmp_path / "copy.pt").exists() and window.save_action.isEnabled(),
                    timeout=WAIT_MS)
    copy = load_checkpoint(tmp_path / "copy.pt")
    assert copy.config == saved.config and copy.history == saved.history
    assert dialogs.errors == []


def test_a_bad_checkpoint_reaches_the_error_dialog_and_the_model_stays(
        window, dialogs, qtbot, checkpoint_file, tmp_path) -> None:
    window.open_path(checkpoint_file)
    # the data set loads in the background and then brings the reconstructions: wait for both
    qtbot.waitUntil(lambda: window.snapshot is not None
                    and window.snapshot.reconstructions is not None, timeout=WAIT_MS)
    good = window.snapshot
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    window.open_path(tmp_path / "bad.pt")
    qtbot.waitUntil(lambda: len(dialogs.errors) == 1, timeout=WAIT_MS)
    assert "not a readable checkpoint" in dialogs.errors[0]
    assert window.snapshot is good and window.open_action.isEnabled()


def test_a_checkpoint_whose_data_folder_is_gone_opens_without_shapes(
        window, qtbot, checkpoint_file, tmp_path) -> None:
    ckpt = load_checkpoint(checkpoint_file)
    ckpt.config = ckpt.config.with_overrides(data=str(tmp_path / "gone"))
    path = save_checkpoint(tmp_path / "gone.pt", ckpt)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=WAIT_MS)
    # the data set loads in the background: its absence is reported when that load ends
    qtbot.waitUntil(lambda: "not available" in window.statusBar().currentMessage(),
                    timeout=WAIT_MS)
    assert window.snapshot.session.shapes is None
    assert window.snapshot.reconstructions is None
    assert window.training.form.folder.text() == str(tmp_path / "gone")


def test_hovering_a_plot_reads_out_its_values(window, qtbot, checkpoint_file) -> None:
    window.open_path(checkpoint_file)
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=WAIT_MS)
    plots, history = window.training.plots, window.snapshot.checkpoint.history
    plot = plots.curves["val_loss"].getViewBox()
    qtbot.wait(200)  # the view ranges follow the data when painted
    middle = plot.viewRect().center().y()
    plot.scene().sigMouseMoved.emit(plot.mapViewToScene(pg.Point(1.9, middle)))  # as Qt would
    assert plots.readout.text() == (f"epoch 2:  train {history[1].train_loss:.4g}   "
                                    f"validation {history[1].val_loss:.4g}")
    bars = plots.bar_plot.getPlotItem().vb
    plots.bar_plot.scene().sigMouseMoved.emit(bars.mapViewToScene(pg.Point(0.9, 0.0)))
    assert plots.readout.text().startswith(
        f"dimension 1:  Var(μ_d) {history[1].mu_var_per_dim[1]:.4g}")
