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
])
def test_invalid_values_name_the_setting(bad, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_dict({**TrainConfig().to_dict(), **bad})


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match=r"unknown config setting.*'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})


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
