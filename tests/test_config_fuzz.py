"""Hostile config values: always a valid TrainConfig or a ConfigError, never another exception."""

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.config import (
    BETA_SCHEDULES,
    GRIDS,
    LATENTS,
    LIKELIHOODS,
    NOISE_MODELS,
    TrainConfig,
)
from trainer.errors import ConfigError

FIELDS = list(TrainConfig().to_dict())
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)
configs = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(configs)
def test_from_dict_is_total(candidate):
    _valid_and_round_tripping_or_one_line_error(candidate)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_from_file_is_total(tmp_path_factory, data):
    for suffix in (".toml", ".json"):
        path = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
        path.write_bytes(data)
        with contextlib.suppress(ConfigError):
            TrainConfig.from_file(path)


family = st.fixed_dictionaries({}, optional={
    "noise": st.sampled_from(NOISE_MODELS) | st.text(max_size=4),
    "noise_level": st.floats(-0.5, 1.5) | st.integers(-1, 2),
    "latent": st.sampled_from(LATENTS),
    "latent_dim": st.integers(-2, 2000),
    "categorical_classes": st.integers(-1, 300),
    "temperature": st.floats(allow_nan=True),
    "temperature_min": st.floats(allow_nan=True),
    "temperature_decay": st.floats(-1, 2),
    "straight_through": st.booleans() | st.integers(0, 1),
    "beta_schedule": st.sampled_from(BETA_SCHEDULES),
    "warmup_epochs": st.integers(-1, 200_000),
    "beta_cycles": st.integers(-1, 20_000),
    "free_bits": st.floats(allow_nan=True),
    "grid": st.sampled_from(GRIDS),
    "sdf_truncation": st.floats(allow_nan=True),
    "likelihood": st.sampled_from(LIKELIHOODS),
    "data": st.sampled_from(["builtin", "/some/folder"]),
})


@settings(max_examples=300, deadline=None)
@given(family)
def test_model_family_settings_are_validated_together(candidate):
    """Plausible combinations of the model-family settings: valid and round-tripping, or a
    one-line ConfigError; the cross-setting rules always hold for a valid config."""
    config = _valid_and_round_tripping_or_one_line_error(candidate)
    if config is not None:
        assert config.grid == "occupancy" or (config.likelihood == "gaussian"
                                              and config.is_builtin_data
                                              and config.noise in ("none", "gaussian"))
        assert config.temperature_min <= config.temperature and config.code_dim <= 4096


def _valid_and_round_tripping_or_one_line_error(candidate: dict) -> TrainConfig | None:
    """The config ``candidate`` describes, checked to survive a JSON round trip, or None after
    checking that it was refused with a one-line ConfigError."""
    try:
        config = TrainConfig.from_dict(candidate)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    return config
