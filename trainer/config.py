"""TrainConfig: the one description of a training run, validated and saved in every checkpoint."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer import budgets
from trainer.errors import ConfigError

RESOLUTIONS = (16, 32, 64)
LIKELIHOODS = ("bernoulli", "gaussian")
LR_SCHEDULES = ("cosine", "constant")
NOISE_MODELS = ("none", "flip", "dropout", "gaussian")
LATENTS = ("gaussian", "categorical")
BETA_SCHEDULES = ("constant", "linear", "cyclical")
GRIDS = ("occupancy", "sdf")
POSES = ("auto", "moments", "none")
BUILTIN_DATA = "builtin"


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run. Invalid values raise ConfigError with a message for a person."""

    data: str = field(default=BUILTIN_DATA, metadata={"help": "'builtin' or a folder of shapes"})
    resolution: int = field(default=32, metadata={"help": "voxel grid size per axis (16, 32, 64)"})
    latent_dim: int = field(default=16, metadata={
        "help": "number of latent dimensions Q (categorical: number of variables K)"})
    channels: tuple[int, ...] = field(
        default=(16, 32, 64, 128), metadata={"help": "channels of the 4 encoder stages"}
    )
    # Defaults: a run of the built-in data at 32^3 fits 20 minutes on 2 CPU cores (20 epochs of
    # batch 8 with pose dimensions; batch 8 learned more per epoch than 16 in every comparison).
    batch_size: int = field(default=8, metadata={"help": "shapes per optimisation step"})
    epochs: int = field(default=20, metadata={"help": "passes over the training set"})
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
    grid: str = field(default="occupancy", metadata={
        "help": "'occupancy' grids or truncated signed distances 'sdf' (built-in data, "
                "gaussian likelihood; negative inside, meshed at 0)"})
    sdf_truncation: float = field(default=3.0, metadata={
        "help": "signed distances are clipped at this many voxels and divided by it"})
    noise: str = field(default="none", metadata={
        "help": "denoising VAE input corruption: 'none', 'flip' (Bernoulli flips), 'dropout' "
                "(occupied voxels cleared) or 'gaussian'"})
    noise_level: float = field(default=0.1, metadata={
        "help": "corruption probability p (flip, dropout) or standard deviation (gaussian)"})
    latent: str = field(default="gaussian", metadata={
        "help": "'gaussian' codes, or 'categorical': latent_dim variables of "
                "categorical_classes classes each (Gumbel-softmax)"})
    categorical_classes: int = field(default=8, metadata={
        "help": "classes C of each categorical latent variable"})
    temperature: float = field(default=1.0, metadata={
        "help": "Gumbel-softmax temperature at the first step"})
    temperature_min: float = field(default=0.5, metadata={
        "help": "the temperature never anneals below this"})
    temperature_decay: float = field(default=5e-4, metadata={
        "help": "anneal rate r per step: max(min, temperature * exp(-r * step))"})
    straight_through: bool = field(default=False, metadata={
        "help": "categorical: decode hard one-hot samples, pass soft gradients"})
    beta_schedule: str = field(default="constant", metadata={
        "help": "KL weight over training: 'constant', 'linear' warm-up or 'cyclical'"})
    warmup_epochs: int = field(default=10, metadata={
        "help": "epochs of the linear warm-up from 0 to beta"})
    beta_cycles: int = field(default=4, metadata={
        "help": "cyclical schedule: cycles over the run (rise over half a cycle, then hold)"})
    free_bits: float = field(default=0.0, metadata={
        "help": "nats per latent dimension below which the batch-mean KL is not penalised"})
    pose: str = field(default="auto", metadata={
        "help": "'moments': 9 of the latent dimensions carry each shape's orientation and "
                "position, taken from its second moments, and the network encodes and draws "
                "shapes in their own frame (Gaussian latents, latent_dim >= 10); 'none'; "
                "'auto': moments where they apply, else none"})

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
        if self.is_builtin_data:
            budgets.check_dataset(self.dataset_size, self.resolution,
                                  2 if self.grid == "sdf" else 1, ConfigError)
        self._check_model_family()

    def _check_model_family(self) -> None:
        """The model-family settings: grids, input noise, latents and KL schedules."""
        _require(self.grid in GRIDS, f"grid must be one of {GRIDS}, got {self.grid!r}")
        if self.grid == "sdf":
            _require(self.likelihood == "gaussian",
                     "grid 'sdf' needs likelihood 'gaussian' (signed distances are not "
                     "probabilities)")
            _require(self.is_builtin_data, "grid 'sdf' is available for the built-in data only")
        _require(math.isfinite(self.sdf_truncation) and 1 <= self.sdf_truncation <= 16,
                 f"sdf_truncation must be 1..16 voxels, got {self.sdf_truncation}")
        _require(self.noise in NOISE_MODELS,
                 f"noise must be one of {NOISE_MODELS}, got {self.noise!r}")
        _require(math.isfinite(self.noise_level) and 0 < self.noise_level < 1,
                 f"noise_level must be strictly between 0 and 1, got {self.noise_level}")
        _require(not (self.grid == "sdf" and self.noise in ("flip", "dropout")),
                 f"noise {self.noise!r} needs occupancy grids; use 'gaussian' for 'sdf' grids")
        _require(self.latent in LATENTS,
                 f"latent must be one of {LATENTS}, got {self.latent!r}")
        _require(2 <= self.categorical_classes <= 256,
                 f"categorical_classes must be 2..256, got {self.categorical_classes}")
        _require(self.code_dim <= 4096, f"latent_dim x categorical_classes must be at most "
                 f"4096, got {self.latent_dim} x {self.categorical_classes}")
        _require(math.isfinite(self.temperature) and 0 < self.temperature <= 100,
                 f"temperature must be in (0, 100], got {self.temperature}")
        _require(math.isfinite(self.temperature_min)
                 and 0 < self.temperature_min <= self.temperature,
                 f"temperature_min must be in (0, temperature], got {self.temperature_min}")
        _require(math.isfinite(self.temperature_decay) and 0 <= self.temperature_decay <= 1,
                 f"temperature_decay must be in [0, 1], got {self.temperature_decay}")
        _require(self.pose in POSES, f"pose must be one of {POSES}, got {self.pose!r}")
        if self.pose == "moments":
            _require(self.latent != "categorical", "pose 'moments' needs Gaussian latents; "
                     "use pose 'none' with categorical latents")
            _require(self.latent_dim >= 10, f"pose 'moments' keeps the pose in 9 latent "
                     f"dimensions, so latent_dim must be at least 10 (got {self.latent_dim}); "
                     "use pose 'none' for fewer")
        _require(self.beta_schedule in BETA_SCHEDULES,
                 f"beta_schedule must be one of {BETA_SCHEDULES}, got {self.beta_schedule!r}")
        _require(1 <= self.warmup_epochs <= 100_000,
                 f"warmup_epochs must be 1..100000, got {self.warmup_epochs}")
        _require(1 <= self.beta_cycles <= 10_000,
                 f"beta_cycles must be 1..10000, got {self.beta_cycles}")
        _require(math.isfinite(self.free_bits) and 0 <= self.free_bits <= 100,
                 f"free_bits must be in [0, 100] nats, got {self.free_bits}")

    @property
    def is_builtin_data(self) -> bool:
        return self.data == BUILTIN_DATA

    @property
    def code_dim(self) -> int:
        """Width of a latent code the decoder takes: Q, or K x C one-hot entries."""
        return self.latent_dim * (self.categorical_classes if self.latent == "categorical" else 1)

    @property
    def uses_pose(self) -> bool:
        """Whether the model keeps each shape's pose in its first 9 latent dimensions."""
        if self.pose == "auto":
            return self.latent != "categorical" and self.latent_dim >= 10
        return self.pose == "moments"

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
            budgets.regular_file_size(path, "file", budgets.CONFIG_BYTES, ConfigError)
        except ConfigError as exc:
            raise ConfigError(f"cannot read config file {exc}") from None
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
        except (ValueError, RecursionError) as exc:  # JSON / TOML errors, huge ints, deep nesting
            problem = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ConfigError(f"config file {path} is not valid {path.suffix[1:]}: "
                              f"{problem}") from exc
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
        if isinstance(expected, bool):
            ok = isinstance(value, bool)
        elif isinstance(value, bool):
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
    return {int: "an integer", float: "a number", str: "text", tuple: "a list of integers",
            bool: "true or false"}.get(
        type(example), type(example).__name__)
