"""The training plots: the β/τ schedule curves and the categorical latent statistics."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.main_window import MainWindow
from explorer.ui.training_plots import TrainingPlots
from trainer.report import BatchProgress, EpochReport


def report(epoch: int, **values: object) -> EpochReport:
    base = dict(epoch=epoch, train_loss=10.0, train_recon=9.0, train_kl=1.0, val_loss=11.0,
                val_recon=10.0, val_kl=1.0, val_iou=0.5, val_hamming=0.1, mu_mean=0.1,
                mu_var=0.9, logvar_mean=-1.0, mu_mean_per_dim=(0.1, 0.1),
                mu_var_per_dim=(0.9, 0.001), active_units=1, latent_dim=2, lr=1e-3,
                samples_per_s=100.0, elapsed_s=1.0)
    return EpochReport(**{**base, **values})


@pytest.fixture
def plots(qtbot) -> TrainingPlots:
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_beta_and_temperature_per_epoch_are_plotted(plots) -> None:
    plots.show_history([report(1)])
    assert not plots.plots["beta"].isVisible()          # old reports: nothing to show
    history = [report(e, beta=b) for e, b in ((1, 0.0), (2, 0.5), (3, 1.0))]
    plots.show_history(history)
    assert plots.plots["beta"].isVisible()
    x, y = plots.curves["beta"].getOriginalDataset()
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])
    tau = plots.curves["temperature"].getOriginalDataset()[1]
    assert tau is None or len(tau) == 0                 # no τ: no curve

    categorical = dict(mu_mean=None, mu_var=None, logvar_mean=None, mu_mean_per_dim=(),
                       mu_var_per_dim=(), entropy_mean=1.2, family="categorical",
                       perplexity_per_var=(3.0, 1.0), mutual_info_per_var=(0.4, 0.001))
    plots.show_history([report(1, beta=1.0, temperature=2.0, **categorical),
                        report(2, beta=1.0, temperature=1.5, **categorical)])
    np.testing.assert_array_equal(plots.curves["temperature"].getOriginalDataset()[1],
                                  [2.0, 1.5])


def test_categorical_reports_switch_the_latent_plots_to_entropy_and_perplexity(plots) -> None:
    plots.show_history([report(1)])
    assert "mean(μ)" in plots.plots["mu_mean"].getPlotItem().titleLabel.text
    categorical = dict(mu_mean=None, mu_var=None, logvar_mean=None, mu_mean_per_dim=(),
                       mu_var_per_dim=(), temperature=1.0, beta=1.0, family="categorical")
    history = [report(1, entropy_mean=1.0, perplexity_per_var=(3.0, 2.0),
                      mutual_info_per_var=(0.4, 0.001), **categorical),
               report(2, entropy_mean=0.5, perplexity_per_var=(2.0, 1.0),
                      mutual_info_per_var=(0.6, 0.002), **categorical)]
    plots.show_history(history)
    assert "mu_mean" not in plots.curves and "mu_var" not in plots.plots
    assert "entropy" in plots.plots["entropy_mean"].getPlotItem().titleLabel.text
    assert "perplexity" in plots.plots["perplexity_per_var"].getPlotItem().titleLabel.text
    np.testing.assert_array_equal(plots.curves["entropy_mean"].getOriginalDataset()[1],
                                  [1.0, 0.5])
    np.testing.assert_array_equal(plots.curves["perplexity_per_var"].getOriginalDataset()[1],
                                  [2.5, 1.5])
    np.testing.assert_allclose(plots.curves["mutual_info_per_var"].getOriginalDataset()[1],
                               [0.2005, 0.301])
    np.testing.assert_array_equal(plots.bars.opts["height"], [0.6, 0.002])
    assert "I(y; z_k)" in plots.bar_plot.getPlotItem().titleLabel.text

    plots.show_history([report(1)])                     # back to a Gaussian model
    assert "mean(μ)" in plots.plots["mu_mean"].getPlotItem().titleLabel.text
    np.testing.assert_array_equal(plots.bars.opts["height"], [0.9, 0.001])


def test_inactive_dimensions_are_marked_even_with_bars_of_height_zero(plots) -> None:
    plots.show_history([report(1, mu_var_per_dim=(0.9, 0.0, 0.002), latent_dim=3,
                               mu_mean_per_dim=(0.1, 0.1, 0.1))])
    x, y = plots.inactive_marks.getData()
    np.testing.assert_array_equal(x, [1, 2])
    np.testing.assert_array_equal(y, [0, 0])
    plots.show_history([])
    assert len(plots.inactive_marks.getData()[0]) == 0


def test_the_bar_strip_axis_title_fits_at_the_smallest_window(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.resize(window.minimumSizeHint())
    qtbot.waitUntil(lambda: window.size() == window.minimumSizeHint(), timeout=2000)
    qtbot.wait(50)
    axis = window.training.plots.bar_plot.getPlotItem().getAxis("left")
    assert axis.label.boundingRect().width() <= axis.size().height()   # drawn rotated
    window.explore.shutdown()


def test_empty_plots_show_epochs_and_sensible_values_before_any_run(plots, qtbot) -> None:
    loss = plots.plots["train_loss"].getPlotItem().viewRange()
    assert loss[0][0] <= 1 and 10 <= loss[0][1] < 11
    assert loss[1][0] >= 0.9 and loss[1][1] <= 3.1         # log10: 10 to 1000 nats
    plots.show_history([report(e) for e in range(1, 31)])
    qtbot.waitUntil(lambda: plots.plots["train_loss"].getPlotItem().viewRange()[0][1] >= 30,
                    timeout=2000)                            # autoscaled again


def test_batch_losses_of_the_first_epoch_are_in_view(plots, qtbot) -> None:
    for batch in (5, 10):
        plots.add_batch_loss(BatchProgress(epoch=1, batch=batch, batches=20, loss=5000.0,
                                           elapsed_s=1.0))
    item = plots.plots["train_loss"].getPlotItem()
    qtbot.waitUntil(lambda: item.viewRange()[0][0] <= 0.25 and item.viewRange()[1][1] >= 3.69,
                    timeout=2000)


def test_a_loss_within_one_decade_still_gets_tick_labels(plots) -> None:
    axis = plots.plots["train_loss"].getPlotItem().getAxis("left")
    levels = axis.logTickValues(np.log10(410), np.log10(560), 120, [])
    assert sum(len(values) for _, values in levels) >= 2
