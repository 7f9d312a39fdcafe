"""Schedules over a run: the learning rate per step, the KL weight beta per epoch and the
Gumbel-softmax temperature per step.

The learning rate warms up linearly over the first WARMUP_FRACTION of the steps, then decays
along a cosine to FINAL_LR_FRACTION of its peak at the last step (or stays at the peak).

Beta is a function of the training progress t in epochs (t = 2.5: half-way through epoch 3);
the step that ends at progress t uses beta(t), so an epoch's report shows beta(epoch).

- constant: beta.
- linear warm-up (Bowman et al. 2016): beta * min(1, t / warmup_epochs).
- cyclical (Fu et al. 2019): the run is split into `beta_cycles` equal cycles; within each, beta
  rises linearly from 0 over the first half (R = 0.5) and then holds at beta.

The temperature follows Jang et al. (2017): tau = max(tau_min, tau0 * exp(-r * step)), with step
the 0-based optimisation step of the run.
"""

from __future__ import annotations

import math

from trainer.config import TrainConfig

WARMUP_FRACTION = 0.03
FINAL_LR_FRACTION = 0.02
CYCLE_RISE = 0.5
"""The share R of each cycle over which beta rises (Fu et al. use R = 0.5)."""


def lr_at(peak: float, step: int, total: int, constant: bool = False) -> float:
    """The learning rate of 0-based ``step`` of ``total`` (module docstring)."""
    warmup = max(1, int(WARMUP_FRACTION * total))
    if step < warmup:
        return peak * (step + 1) / warmup
    if constant:
        return peak
    t = (step - warmup) / max(1, total - warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * t))
    return peak * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * cosine)


def beta_at(config: TrainConfig, progress: float) -> float:
    """The KL weight at `progress` epochs into the run (0 <= progress <= config.epochs)."""
    if config.beta_schedule == "constant":
        return config.beta
    if config.beta_schedule == "linear":
        return config.beta * min(1.0, progress / config.warmup_epochs)
    cycle = config.epochs / config.beta_cycles
    # position in the current cycle, in (0, 1]: the end of a cycle still belongs to it
    position = progress / cycle - math.ceil(progress / cycle) + 1 if progress > 0 else 0.0
    return config.beta * min(1.0, position / CYCLE_RISE)


def temperature_at(config: TrainConfig, step: int) -> float:
    """The Gumbel-softmax temperature at the 0-based optimisation `step`."""
    return max(config.temperature_min,
               config.temperature * math.exp(-config.temperature_decay * step))
