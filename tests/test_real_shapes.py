"""The 'auto' choices on real, aligned furniture (ModelNet10), when the project's shared data
file is present beside the checkout; skipped otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer.auto_choices import resolve_auto
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet

MODELNET = Path(__file__).resolve().parents[2] / "shared" / "data" / "modelnet10_train_32.npz"
PER_CLASS = 40


@pytest.fixture(scope="module")
def furniture() -> ShapeSet:
    if not MODELNET.is_file():
        pytest.skip(f"{MODELNET} is not here")
    grids, labels = [], []
    with np.load(MODELNET) as packed:
        names = tuple(packed.files)
        for k, name in enumerate(names):
            bits = packed[name][:PER_CLASS]
            grids.append(np.unpackbits(bits, axis=1)[:, :32**3].reshape(-1, 1, 32, 32, 32))
            labels += [k] * len(bits)
    return ShapeSet(np.concatenate(grids), np.array(labels), names)


def test_aligned_furniture_gets_no_pose_dimensions_and_left_right_flips(furniture) -> None:
    config, choices = resolve_auto(TrainConfig(), furniture)
    assert config.pose == "none" and config.augment == "mirror"
    reasons = {c.setting: c.reason for c in choices}
    assert "aligned" in reasons["pose"]
    # a chair mirrored left to right is a chair; front to back or upside down it is not
    chairs = next(part for part in reasons["augment"].split("; ") if "chair" in part)
    assert chairs.endswith(" across x")
