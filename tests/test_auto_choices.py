"""Settings left to 'auto' are decided from the training shapes."""

from __future__ import annotations

import dataclasses

import pytest

from trainer.auto_choices import ALIGNED_SHARE, aligned_share, resolve_auto
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.data.shapeset import ShapeSet
from trainer.loop import Trainer

CONFIG = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16), batch_size=4,
                     epochs=1, augment="none")


@pytest.fixture(scope="module")
def turned() -> ShapeSet:
    return make_procedural(200, 16, seed=3)


@pytest.fixture(scope="module")
def aligned() -> ShapeSet:
    return make_procedural(200, 16, seed=3, rotate=False)


def test_aligned_shapes_share_the_grid_axes_and_turned_ones_do_not(turned, aligned) -> None:
    assert aligned_share(aligned) > 2 * ALIGNED_SHARE
    assert aligned_share(turned) < ALIGNED_SHARE / 2


def test_auto_pose_keeps_pose_dimensions_for_turned_shapes_only(turned, aligned) -> None:
    for shapes, pose in ((turned, "moments"), (aligned, "none")):
        config, choices = resolve_auto(CONFIG, shapes)
        assert config.pose == pose and config.uses_pose == (pose == "moments")
        assert [(c.setting, c.value) for c in choices] == [("pose", pose)]
        assert "grid axis" in choices[0].reason


def test_auto_pose_is_none_where_pose_dimensions_do_not_apply(turned) -> None:
    for changes, why in (({"latent_dim": 8}, "latent_dim >= 10"),
                         ({"latent": "categorical"}, "Gaussian latents")):
        config, (choice,) = resolve_auto(dataclasses.replace(CONFIG, **changes), turned)
        assert config.pose == "none" and why in choice.reason


def test_settings_given_explicitly_are_kept(turned) -> None:
    config = dataclasses.replace(CONFIG, pose="none")
    assert resolve_auto(config, turned) == (config, ())


def test_the_trainer_saves_the_decided_value_and_a_resumed_run_keeps_it(aligned) -> None:
    train, val = aligned.split(0.2, 0)
    trainer = Trainer(CONFIG, train, val)
    assert trainer.config.pose == "none" and trainer.family.pose_dims == 0
    assert trainer.choices[0].value == "none"
    trainer.run()
    resumed = Trainer(trainer.checkpoint().config, train, val, resume_from=trainer.checkpoint())
    assert resumed.config.pose == "none" and resumed.choices == ()
    again = Trainer(CONFIG, train, val, resume_from=trainer.checkpoint())  # 'auto' decides alike
    assert again.config == trainer.config

