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
AUGMENTATIONS = ("auto", "mirror", "none")
BUILTIN_DATA = "builtin"


@dataclass(frozen=True)
class Range:
    """The allowed values of a number setting: ``low`` to ``high``, each end open or closed."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False
    text: str = ""
    """How a person reads the range, when not as ``low..high`` or an interval."""

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def describe(self, integer: bool) -> str:
        """What a value must be, e.g. '1..1024' (whole numbers), 'in (0, 1]', 'strictly between
        0 and 1'."""
        if self.text:
            return self.text
        if integer:
            return f"{self.low}..{self.high}"
        if self.open_low and self.open_high:
            return f"strictly between {self.low:g} and {self.high:g}"
        return (f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.open_high else ']'}")


def _setting(default: Any, help: str, *, choices: tuple[Any, ...] = (),
             range: Range | None = None, group: str = "") -> Any:
    """A TrainConfig field with what flags, forms and validation need to know about it."""
    return field(default=default, metadata={"help": help, "choices": choices, "range": range,
                                            "group": group})


_FAMILY = "model family (denoising, discrete latents, KL schedule, pose)"


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run. Invalid values raise ConfigError with a message for a person.

    Each field's metadata (help, choices, range) is the one description of the setting: the
    `train` flags, the form's tooltips and the validation below are made from it.
    """

    data: str = _setting(BUILTIN_DATA, "'builtin' (procedural solids) or a folder of shapes")
    resolution: int = _setting(32, "voxel grid size per axis", choices=RESOLUTIONS)
    latent_dim: int = _setting(64, "number of latent dimensions Q (categorical: number of "
                                   "variables K)", range=Range(1, 1024))
    channels: tuple[int, ...] = _setting((16, 32, 64, 128), "channels of the 4 encoder stages "
                                         "(the decoder mirrors them), 1..1024 each")
    # The defaults make a run of the built-in data at 32^3 short on 2 CPU cores (the figures
    # behind batch 8 and 20 epochs: benchmarks/README.md).
    batch_size: int = _setting(8, "shapes per optimisation step", range=Range(2, 4096))
    epochs: int = _setting(20, "passes over the training set", range=Range(1, 100_000))
    lr: float = _setting(2e-3, "Adam learning rate (peak)", range=Range(0, 1, open_low=True))
    lr_schedule: str = _setting("cosine", "learning rate over the run: 'cosine' decay or "
                                          "'constant'", choices=LR_SCHEDULES)
    likelihood: str = _setting("bernoulli", "'bernoulli' (occupancy) or 'gaussian' (SSE)",
                               choices=LIKELIHOODS)
    samples: int = _setting(1, "Monte-Carlo samples L per shape", range=Range(1, 64))
    beta: float = _setting(1.0, "weight of the KL term", range=Range(0, 1000))
    seed: int = _setting(0, "seed for data, initialisation and noise",
                         range=Range(0, 2**63 - 1, text="0 or more"))
    val_fraction: float = _setting(0.1, "share of shapes held out for validation",
                                   range=Range(0, 1, open_low=True, open_high=True))
    dataset_size: int = _setting(4000, "number of procedural shapes (built-in data only)",
                                 range=Range(2, 1_000_000))
    grid: str = _setting("occupancy", "'occupancy' grids or truncated signed distances 'sdf' "
                         "(built-in data, gaussian likelihood; negative inside, meshed at 0)",
                         choices=GRIDS)
    sdf_truncation: float = _setting(3.0, "signed distances are clipped at this many voxels and "
                                     "divided by it", range=Range(1, 16))
    noise: str = _setting("none", "denoising VAE input corruption: 'none', 'flip' (Bernoulli "
                          "flips), 'dropout' (occupied voxels cleared) or 'gaussian'",
                          choices=NOISE_MODELS, group=_FAMILY)
    noise_level: float = _setting(0.1, "corruption probability p (flip, dropout) or standard "
                                  "deviation (gaussian)",
                                  range=Range(0, 1, open_low=True, open_high=True), group=_FAMILY)
    latent: str = _setting("gaussian", "'gaussian' codes, or 'categorical': latent_dim "
                           "variables of categorical_classes classes each (Gumbel-softmax)",
                           choices=LATENTS, group=_FAMILY)
    categorical_classes: int = _setting(8, "classes C of each categorical latent variable",
                                        range=Range(2, 256), group=_FAMILY)
    temperature: float = _setting(1.0, "Gumbel-softmax temperature at the first step",
                                  range=Range(0, 100, open_low=True), group=_FAMILY)
    temperature_min: float = _setting(0.5, "the temperature never anneals below this (at most "
                                      "temperature)", range=Range(0, 100, open_low=True),
                                      group=_FAMILY)
    temperature_decay: float = _setting(5e-4, "anneal rate r per step: max(min, temperature * "
                                        "exp(-r * step))", range=Range(0, 1), group=_FAMILY)
    straight_through: bool = _setting(False, "categorical: decode hard one-hot samples, pass "
                                      "soft gradients", group=_FAMILY)
    beta_schedule: str = _setting("constant", "KL weight over training: 'constant', 'linear' "
                                  "warm-up or 'cyclical'", choices=BETA_SCHEDULES, group=_FAMILY)
    warmup_epochs: int = _setting(10, "epochs of the linear warm-up from 0 to beta",
                                  range=Range(1, 100_000), group=_FAMILY)
    beta_cycles: int = _setting(4, "cyclical schedule: cycles over the run (rise over half a "
                                "cycle, then hold)", range=Range(1, 10_000), group=_FAMILY)
    free_bits: float = _setting(0.0, "nats per latent dimension below which the batch-mean KL "
                                "is not penalised", range=Range(0, 100), group=_FAMILY)
    pose: str = _setting("auto", "'moments': 9 of the latent dimensions carry each shape's "
                         "orientation and position, taken from its second moments, and the "
                         "network encodes and draws shapes in their own frame (Gaussian latents, "
                         "latent_dim >= 10); 'none'; 'auto': moments where they apply, else none",
                         choices=POSES, group=_FAMILY)
    augment: str = _setting("auto", "'mirror': training shapes are flipped at random across the "
                            "axes where their class's mean shape is mirror-symmetric; 'none'; "
                            "'auto': mirror where some class is symmetric, else none",
                            choices=AUGMENTATIONS, group=_FAMILY)
    shift: int = _setting(0, "largest random translation of a training shape, in voxels per "
                          "axis (the space it leaves reads outside); 0: none",
                          range=Range(0, 8), group=_FAMILY)

    def __post_init__(self) -> None:
        _check_types(self)
        for setting in SETTINGS.values():
            setting.check(getattr(self, setting.name))
        _require(len(self.channels) == 4 and all(1 <= c <= 1024 for c in self.channels),
                 f"channels must be 4 values in 1..1024, got {list(self.channels)}")
        _require(bool(self.data.strip()), "data must be 'builtin' or a folder path")
        if self.is_builtin_data:
            budgets.check_dataset(self.dataset_size, self.resolution,
                                  2 if self.grid == "sdf" else 1, ConfigError)
        self._check_combinations()

    def _check_combinations(self) -> None:
        """The settings that depend on one another: grids, input noise, latents and pose."""
        if self.grid == "sdf":
            _require(self.likelihood == "gaussian",
                     "grid 'sdf' needs likelihood 'gaussian' (signed distances are not "
                     "probabilities)")
            _require(self.is_builtin_data, "grid 'sdf' is available for the built-in data only")
        _require(not (self.grid == "sdf" and self.noise in ("flip", "dropout")),
                 f"noise {self.noise!r} needs occupancy grids; use 'gaussian' for 'sdf' grids")
        _require(self.code_dim <= 4096, f"latent_dim x categorical_classes must be at most "
                 f"4096, got {self.latent_dim} x {self.categorical_classes}")
        _require(self.temperature_min <= self.temperature,
                 f"temperature_min must be in (0, temperature], got {self.temperature_min}")
        if self.pose == "moments":
            _require(self.latent != "categorical", "pose 'moments' needs Gaussian latents; "
                     "use pose 'none' with categorical latents")
            _require(self.latent_dim >= 10, f"pose 'moments' keeps the pose in 9 latent "
                     f"dimensions, so latent_dim must be at least 10 (got {self.latent_dim}); "
                     "use pose 'none' for fewer")

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


@dataclass(frozen=True)
class Setting:
    """One TrainConfig field as flags and forms see it."""

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...]
    range: Range | None
    group: str

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. '--latent-dim'."""
        return "--" + self.name.replace("_", "-")

    @property
    def allowed(self) -> str:
        """The values it takes, for a person: '16, 32, 64', '1..1024', 'in (0, 1]' or ''."""
        if self.choices:
            return ", ".join(map(str, self.choices))
        if self.range is not None:
            return self.range.describe(isinstance(self.default, int))
        return ""

    def describe(self) -> str:
        """Help, range and default in one line (flag help, form tooltips); choices are left to
        the flag's metavar or the form's list."""
        default = (",".join(map(str, self.default)) if isinstance(self.default, tuple)
                   else self.default)
        allowed = f"; {self.allowed}" if self.range is not None else ""
        return f"{self.help}{allowed}; default {default}"

    def check(self, value: Any) -> None:
        """Raise ConfigError unless ``value`` is one of the choices or lies in the range."""
        if self.choices:
            _require(value in self.choices,
                     f"{self.name} must be one of {self.choices}, got {value!r}")
        if self.range is not None:
            finite = isinstance(value, int) or math.isfinite(value)
            _require(finite and value in self.range,
                     f"{self.name} must be {self.allowed}, got {value}")


SETTINGS: dict[str, Setting] = {
    f.name: Setting(f.name, f.default, f.metadata["help"], f.metadata["choices"],
                    f.metadata["range"], f.metadata["group"])
    for f in dataclasses.fields(TrainConfig)
}
"""Every TrainConfig setting by name, in declaration order."""


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
