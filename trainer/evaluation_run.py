"""What the `evaluate` command and the GUI's Evaluate action share: the shapes a data choice
names, the checks on the request, and the report as the text and JSON they write."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from trainer import budgets
from trainer.atomic import atomic_write
from trainer.config import BUILTIN_DATA, TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.error_line import printable
from trainer.errors import ConfigError
from trainer.evaluation import Evaluation

SAMPLERS = ("prior", "fitted")
Loader = Callable[[TrainConfig], ShapeSet]
"""Loads the shapes a config names (the built-in solids, or its folder imported)."""


def check_request(samples: int, seed: int, sampler: str) -> None:
    """ConfigError unless the sample count, seed and sampler are usable."""
    if not 0 <= samples <= budgets.SAMPLES:
        raise ConfigError(f"--samples must be 0..{budgets.SAMPLES}, got {samples}")
    if not 0 <= seed < 2**63:
        raise ConfigError(f"--seed must be 0..2^63-1, got {seed}")
    if sampler not in SAMPLERS:
        raise ConfigError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")


def evaluation_shapes(config: TrainConfig, data: str | None, sampler: str,
                      load: Loader) -> tuple[ShapeSet, ShapeSet | None]:
    """The shapes to score a run of ``config`` on, and those to fit a code density to (for
    the fitted sampler; else None). ``data`` is 'builtin' (the run's validation split of the
    built-in solids), a folder (all its shapes, at the run's resolution), or None (builtin for
    built-in runs)."""
    if data is None and not config.is_builtin_data:
        raise ConfigError(f"this run trained on the folder {printable(config.data)}; give "
                          "--data with a folder of shapes to score it on")
    if data in (None, BUILTIN_DATA):
        if not config.is_builtin_data:
            raise ConfigError("this run did not train on the built-in solids; give --data "
                              "with a folder of shapes")
        train, shapes = load(config).split(config.val_fraction, config.seed)
        return shapes, train if sampler == "fitted" else None
    if config.grid == "sdf":
        raise ConfigError("this model works on signed distances of the built-in solids; a "
                          "folder of shapes (occupancy grids) cannot be scored with it")
    shapes = load(config.with_overrides(data=data))
    if sampler == "fitted":
        return shapes, load(config).split(config.val_fraction, config.seed)[0]
    return shapes, None


def report_text(report: Evaluation) -> str:
    """The report as the `evaluate` command prints it."""
    return "".join(f"{line}\n" for line in report.lines())


def report_json(report: Evaluation) -> str:
    """The report as the `evaluate` command's ``--json`` file holds it."""
    return json.dumps(report.to_dict(), indent=1)


def write_report(path: str | Path, text: str) -> Path:
    """Write a report atomically, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(text.encode()))
    return path
