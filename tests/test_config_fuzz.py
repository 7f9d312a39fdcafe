"""Hostile config values: always a valid TrainConfig or a ConfigError, never another exception."""

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.config import TrainConfig
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
    try:
        config = TrainConfig.from_dict(candidate)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_from_file_is_total(tmp_path_factory, data):
    for suffix in (".toml", ".json"):
        path = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
        path.write_bytes(data)
        with contextlib.suppress(ConfigError):
            TrainConfig.from_file(path)
