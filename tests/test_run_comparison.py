"""Comparing runs: the differing settings of their configs and the history CSV round trip."""

from __future__ import annotations

import pytest

from trainer.config import TrainConfig
from trainer.errors import ShapeExplorerError
from trainer.report import EpochReport
from trainer.run_comparison import (
    differing_settings,
    histories_csv,
    read_histories_csv,
    run_label,
    write_histories_csv,
)


def report(epoch: int, **values: object) -> EpochReport:
    base = dict(epoch=epoch, train_loss=10.0 / epoch, train_recon=9.0, train_kl=1.0,
                val_loss=11.0, val_recon=10.0, val_kl=1.0, val_iou=0.1 * epoch,
                val_hamming=0.1, mu_mean=0.1, mu_var=0.9, logvar_mean=-1.0,
                mu_mean_per_dim=(0.1, -0.25), mu_var_per_dim=(0.9, 1e-3), active_units=1,
                latent_dim=2, lr=1e-3, samples_per_s=100.0, elapsed_s=1.5)
    return EpochReport(**{**base, **values})


def test_differing_settings_name_only_what_differs_in_config_order():
    a = TrainConfig(lr=1e-3, beta=2.0)
    b = TrainConfig(lr=1e-3, beta=1.0, latent_dim=8)
    c = TrainConfig(lr=5e-4, beta=1.0)
    assert differing_settings([a, b, c]) == [
        {"latent_dim": 64, "lr": 1e-3, "beta": 2.0},
        {"latent_dim": 8, "lr": 1e-3, "beta": 1.0},
        {"latent_dim": 64, "lr": 5e-4, "beta": 1.0}]
    assert differing_settings([a, a]) == [{}, {}]
    assert differing_settings([a]) == [{}]
    assert run_label("b.pt", {"latent_dim": 8, "beta": 1.0}) == "b.pt (latent_dim=8, beta=1)"
    assert run_label("a.pt", {}) == "a.pt"
    assert run_label("c.pt", {"channels": [8, 16, 32, 64]}) == "c.pt (channels=8,16,32,64)"


def test_histories_round_trip_through_csv(tmp_path):
    runs = [("run a", [report(1), report(2, beta=0.5)]),
            ("run, b", [report(1, family="categorical", mu_mean=None, mu_var=None,
                                logvar_mean=None, mu_mean_per_dim=(), mu_var_per_dim=(),
                                entropy_mean=0.7, perplexity_per_var=(3.0, 2.5),
                                mutual_info_per_var=(0.2, 0.1), temperature=0.9)])]
    path = write_histories_csv(tmp_path / "h.csv", runs)
    assert read_histories_csv(path) == dict(runs)
    header = histories_csv(runs).splitlines()[0].split(",")
    assert header[:3] == ["run", "epoch", "train_loss"]


def test_a_file_that_is_not_a_history_table_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("run,epoch\na,notanumber\n")
    with pytest.raises(ShapeExplorerError, match="not a run history table"):
        read_histories_csv(path)
