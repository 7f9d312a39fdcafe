"""TrainConfig validation and loading."""

import json

import pytest

from trainer.config import TrainConfig
from trainer.errors import ConfigError


@pytest.mark.parametrize("bad, words", [
    ({"resolution": 20}, "resolution"),
    ({"latent_dim": 0}, "latent_dim"),
    ({"batch_size": 1}, "batch_size"),
    ({"batch_size": True}, "integer"),
    ({"lr": -1.0}, "lr"),
    ({"lr": "fast"}, "number"),
    ({"likelihood": "poisson"}, "likelihood"),
    ({"samples": 0}, "samples"),
    ({"beta": float("nan")}, "beta"),
    ({"val_fraction": 1.0}, "val_fraction"),
    ({"channels": (8, 16)}, "channels"),
    ({"seed": -1}, "seed"),
    ({"data": "  "}, "data"),
    ({"noise": "salt"}, "noise must be one of"),
    ({"noise": "flip", "noise_level": 1.0}, "noise_level"),
    ({"latent": "vq"}, "latent must be one of"),
    ({"latent": "categorical", "categorical_classes": 1}, "categorical_classes"),
    ({"latent": "categorical", "latent_dim": 1000, "categorical_classes": 10}, "4096"),
    ({"temperature": 0.0}, "temperature must be"),
    ({"temperature": 1.0, "temperature_min": 2.0}, "temperature_min"),
    ({"temperature_decay": -1e-3}, "temperature_decay"),
    ({"straight_through": 1}, "true or false"),
    ({"beta_schedule": "sigmoid"}, "beta_schedule"),
    ({"warmup_epochs": 0}, "warmup_epochs"),
    ({"beta_cycles": 0}, "beta_cycles"),
    ({"free_bits": -0.1}, "free_bits"),
    ({"grid": "tsdf"}, "grid must be one of"),
    ({"grid": "sdf"}, "needs likelihood 'gaussian'"),
    ({"grid": "sdf", "likelihood": "gaussian", "data": "/shapes"}, "built-in data only"),
    ({"grid": "sdf", "likelihood": "gaussian", "noise": "flip"}, "use 'gaussian'"),
    ({"sdf_truncation": 0.5}, "sdf_truncation"),
    ({"pose": "pca"}, "pose must be one of"),
    ({"latent": "categorical", "pose": "moments"}, "pose 'moments' needs Gaussian latents"),
    ({"latent_dim": 9, "pose": "moments"}, "latent_dim must be at least 10"),
])
def test_invalid_values_name_the_setting(bad, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_dict({**TrainConfig().to_dict(), **bad})


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match=r"unknown config setting.*'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_pose_auto_applies_where_the_pose_dimensions_fit():
    assert TrainConfig().uses_pose and TrainConfig(latent_dim=10).uses_pose
    assert not TrainConfig(latent_dim=9).uses_pose
    assert not TrainConfig(latent="categorical").uses_pose
    assert not TrainConfig(pose="none").uses_pose


def test_dict_round_trip_and_overrides():
    config = TrainConfig(latent_dim=8, channels=(8, 8, 16, 16))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    changed = config.with_overrides(lr=0.01, epochs=None)
    assert changed.lr == 0.01 and changed.epochs == config.epochs


def test_from_toml_and_json(tmp_path):
    (tmp_path / "a.toml").write_text('resolution = 16\nlatent_dim = 8\nbeta = 2\n')
    (tmp_path / "b.json").write_text('{"resolution": 64, "likelihood": "gaussian"}')
    a = TrainConfig.from_file(tmp_path / "a.toml")
    assert (a.resolution, a.latent_dim, a.beta) == (16, 8, 2.0)
    assert TrainConfig.from_file(tmp_path / "b.json").likelihood == "gaussian"


@pytest.mark.parametrize("name, text, words", [
    ("c.toml", "resolution = [", "not valid toml"),
    ("c.json", "{", "not valid json"),
    ("c.yaml", "a: 1", "must end in .toml or .json"),
    ("c.json", "[1, 2]", "table of settings"),
])
def test_bad_files_give_clear_errors(tmp_path, name, text, words):
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_file(tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        TrainConfig.from_file(tmp_path / "nope.toml")


def test_model_family_defaults_are_off_and_round_trip():
    config = TrainConfig()
    assert (config.noise, config.latent, config.beta_schedule, config.free_bits, config.grid,
            config.straight_through) == ("none", "gaussian", "constant", 0.0, "occupancy", False)
    assert config.code_dim == config.latent_dim
    family = TrainConfig(latent="categorical", pose="none", latent_dim=16, categorical_classes=8,
                         straight_through=True, noise="gaussian", noise_level=0.2,
                         beta_schedule="cyclical", beta_cycles=3, free_bits=0.25,
                         grid="sdf", likelihood="gaussian", sdf_truncation=2.5)
    assert family.code_dim == 128 and not family.uses_pose
    assert TrainConfig.from_dict(json.loads(json.dumps(family.to_dict()))) == family


def test_model_family_from_toml(tmp_path):
    (tmp_path / "c.toml").write_text('latent = "categorical"\nstraight_through = true\n'
                                     'beta_schedule = "linear"\nwarmup_epochs = 5\n')
    config = TrainConfig.from_file(tmp_path / "c.toml")
    assert config.straight_through is True and config.warmup_epochs == 5
