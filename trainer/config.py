"""TrainConfig: the one description of a training run, validated and saved in every checkpoint."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.errors import ConfigError

RESOLUTIONS = (16, 32, 64)
LIKELIHOODS = ("bernoulli", "gaussian")
LR_SCHEDULES = ("cosine", "constant")
BUILTIN_DATA = "builtin"


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run. Invalid values raise ConfigError with a message for a person."""

    data: str = field(default=BUILTIN_DATA, metadata={"help": "'builtin' or a folder of shapes"})
    resolution: int = field(default=32, metadata={"help": "voxel grid size per axis (16, 32, 64)"})
    latent_dim: int = field(default=16, metadata={"help": "number of latent dimensions Q"})
    channels: tuple[int, ...] = field(
        default=(16, 32, 64, 128), metadata={"help": "channels of the 4 encoder stages"}
    )
    batch_size: int = field(default=16, metadata={"help": "shapes per optimisation step"})
    epochs: int = field(default=30, metadata={"help": "passes over the training set"})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate (peak)"})
    lr_schedule: str = field(default="cosine", metadata={"help": "'cosine' decay or 'constant'"})
    likelihood: str = field(
        default="bernoulli", metadata={"help": "'bernoulli' (occupancy) or 'gaussian' (SSE)"}
    )
    samples: int = field(default=1, metadata={"help": "Monte-Carlo samples L per shape"})
    beta: float = field(default=1.0, metadata={"help": "weight of the KL term"})
    seed: int = field(default=0, metadata={"help": "seed for data, initialisation and noise"})
    val_fraction: float = field(default=0.1, metadata={"help": "share of shapes held out"})
    dataset_size: int = field(
        default=4000, metadata={"help": "number of procedural shapes (built-in data only)"}
    )

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self.resolution in RESOLUTIONS, f"resolution must be one of {RESOLUTIONS}, "
                 f"got {self.resolution}")
        _require(1 <= self.latent_dim <= 1024, f"latent_dim must be 1..1024, got {self.latent_dim}")
        _require(len(self.channels) == 4 and all(1 <= c <= 1024 for c in self.channels),
                 f"channels must be 4 values in 1..1024, got {list(self.channels)}")
        _require(2 <= self.batch_size <= 4096, f"batch_size must be 2..4096, got {self.batch_size}")
        _require(1 <= self.epochs <= 100_000, f"epochs must be 1..100000, got {self.epochs}")
        _require(math.isfinite(self.lr) and 0 < self.lr <= 1,
                 f"lr must be in (0, 1], got {self.lr}")
        _require(self.lr_schedule in LR_SCHEDULES,
                 f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        _require(self.likelihood in LIKELIHOODS,
                 f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        _require(1 <= self.samples <= 64, f"samples (L) must be 1..64, got {self.samples}")
        _require(math.isfinite(self.beta) and 0 <= self.beta <= 1000,
                 f"beta must be in [0, 1000], got {self.beta}")
        _require(0 <= self.seed < 2**63, f"seed must be a non-negative integer, got {self.seed}")
        _require(0 < self.val_fraction < 1,
                 f"val_fraction must be strictly between 0 and 1, got {self.val_fraction}")
        _require(2 <= self.dataset_size <= 1_000_000,
                 f"dataset_size must be 2..1000000, got {self.dataset_size}")
        _require(bool(self.data.strip()), "data must be 'builtin' or a folder path")

    @property
    def is_builtin_data(self) -> bool:
        return self.data == BUILTIN_DATA

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from plain values; unknown keys and wrong types raise ConfigError."""
        if not isinstance(values, dict):
            raise ConfigError(f"a config must be a table of settings, got {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(repr(k) for k in values if k not in names)
        if unknown:
            raise ConfigError(f"unknown config setting(s): {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(names))}")
        values = dict(values)
        if isinstance(values.get("channels"), list):
            values["channels"] = tuple(values["channels"])
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Load a .toml or .json file (a flat table of settings)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        try:
            if path.suffix.lower() == ".json":
                values = json.loads(text)
            elif path.suffix.lower() == ".toml":
                values = tomllib.loads(text)
            else:
                raise ConfigError(f"config file {path} must end in .toml or .json")
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid {path.suffix[1:]}: {exc}") from exc
        return cls.from_dict(values)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the given settings replaced; None values are ignored."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return TrainConfig.from_dict({**self.to_dict(), **given})


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_types(config: TrainConfig) -> None:
    for f in dataclasses.fields(config):
        value, expected = getattr(config, f.name), f.default
        if isinstance(value, bool):
            ok = False
        elif isinstance(expected, float):
            ok = isinstance(value, (int, float))
            if ok:
                object.__setattr__(config, f.name, float(value))
        elif isinstance(expected, tuple):
            ok = isinstance(value, tuple) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value)
        else:
            ok = isinstance(value, type(expected))
        if not ok:
            raise ConfigError(f"{f.name} must be {_type_name(expected)}, got {value!r}")


def _type_name(example: Any) -> str:
    return {int: "an integer", float: "a number", str: "text", tuple: "a list of integers"}.get(
        type(example), type(example).__name__)
