"""Shared fixtures: tiny configs and data sets that train in about a second."""

from __future__ import annotations

import pytest

from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.data.shapeset import ShapeSet


@pytest.fixture(autouse=True)
def private_voxel_cache(tmp_path_factory, monkeypatch):
    """Keep every test's folder imports out of the user's ~/.cache."""
    monkeypatch.setenv("SHAPE_EXPLORER_CACHE", str(tmp_path_factory.mktemp("voxel-cache")))


@pytest.fixture(autouse=True)
def eager_decoding(monkeypatch):
    """No background decoder compilation unless a test asks for it (tests/test_fast_decode.py)."""
    monkeypatch.setenv("SHAPE_EXPLORER_COMPILE", "0")


@pytest.fixture
def tiny_config() -> TrainConfig:
    return TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16), batch_size=8,
                       epochs=2, lr=2e-3, dataset_size=40, seed=3)


@pytest.fixture
def tiny_split(tiny_config: TrainConfig) -> tuple[ShapeSet, ShapeSet]:
    shapes = make_procedural(tiny_config.dataset_size, tiny_config.resolution, tiny_config.seed)
    return shapes.split(tiny_config.val_fraction, tiny_config.seed)
