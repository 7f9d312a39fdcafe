"""The KL weight and temperature schedules at given epochs and steps."""

import math

import pytest

from trainer.config import TrainConfig
from trainer.schedules import beta_at, temperature_at


def test_constant_beta():
    config = TrainConfig(beta=0.7, epochs=10)
    assert [beta_at(config, t) for t in (0, 0.5, 3, 10)] == [0.7] * 4


def test_linear_warm_up_reaches_beta_after_the_warm_up_epochs():
    config = TrainConfig(beta=2.0, epochs=20, beta_schedule="linear", warmup_epochs=4)
    values = [beta_at(config, t) for t in (0, 1, 2, 3, 4, 5, 20)]
    assert values == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0])


def test_cyclical_rises_over_half_of_each_cycle_then_holds():
    # 12 epochs, 3 cycles of 4 epochs: rise over 2 epochs (R = 0.5), hold for 2.
    config = TrainConfig(beta=1.0, epochs=12, beta_schedule="cyclical", beta_cycles=3)
    epochs = range(0, 13)
    expected = [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0]
    assert [beta_at(config, t) for t in epochs] == pytest.approx(expected)
    assert beta_at(config, 4.25) == pytest.approx(0.125)   # a new cycle starts from zero
    assert beta_at(config, 8.5) == pytest.approx(0.25)


def test_temperature_anneals_exponentially_to_its_floor():
    config = TrainConfig(latent="categorical", pose="none", temperature=2.0, temperature_min=0.5,
                         temperature_decay=0.01)
    assert temperature_at(config, 0) == 2.0
    assert temperature_at(config, 50) == pytest.approx(2.0 * math.exp(-0.5))
    assert temperature_at(config, 10_000) == 0.5
    steps = [temperature_at(config, s) for s in range(0, 300, 10)]
    assert steps == sorted(steps, reverse=True)
