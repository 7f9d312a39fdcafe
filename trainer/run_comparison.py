"""Comparing runs: the settings in which their configs differ, and their histories as CSV.

The Training view overlays several runs' histories; each run is named with the settings that
tell it apart from the others (`differing_settings`, `run_label`). `write_histories_csv` puts
every run's reports into one table (a row per run and epoch) that `read_histories_csv` reads
back; per-dimension values sit in one cell, separated by spaces.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainer.atomic import atomic_write
from trainer.config import TrainConfig
from trainer.errors import ShapeExplorerError
from trainer.report import EpochReport

RUN_COLUMN = "run"
_FIELDS = tuple(f.name for f in dataclasses.fields(EpochReport))
_INTEGERS = {"epoch", "active_units", "latent_dim"}
_TEXTS = {"family"}


def differing_settings(configs: Sequence[TrainConfig]) -> list[dict[str, Any]]:
    """For each config, the settings (name -> value, in TrainConfig's order) whose value is not
    the same in all of them; with fewer than two configs, none."""
    values = [c.to_dict() for c in configs]
    if len(values) < 2:
        return [{} for _ in values]
    names = [name for name in values[0] if any(v[name] != values[0][name] for v in values[1:])]
    return [{name: v[name] for name in names} for v in values]


def run_label(name: str, settings: dict[str, Any]) -> str:
    """``name`` followed by the settings that tell its run apart, e.g. ``a.pt (lr=0.001,
    beta=2.0)``."""
    if not settings:
        return name
    return f"{name} ({', '.join(f'{k}={_format(v)}' for k, v in settings.items())})"


def _format(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def histories_csv(runs: Sequence[tuple[str, Sequence[EpochReport]]]) -> str:
    """The runs' reports as CSV text: a ``run`` column, then every EpochReport field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((RUN_COLUMN, *_FIELDS))
    for name, history in runs:
        for report in history:
            writer.writerow((name, *(_cell(getattr(report, f)) for f in _FIELDS)))
    return out.getvalue()


def write_histories_csv(path: str | Path,
                        runs: Sequence[tuple[str, Sequence[EpochReport]]]) -> Path:
    """Write `histories_csv` to ``path`` atomically."""
    path = Path(path)
    text = histories_csv(runs).encode("utf-8")
    try:
        atomic_write(path, lambda f: f.write(text))
    except OSError as exc:
        raise ShapeExplorerError(f"Cannot write {path}: {exc.strerror or exc}") from exc
    return path


def read_histories_csv(path: str | Path) -> dict[str, list[EpochReport]]:
    """Each run's reports from a file `write_histories_csv` wrote, in file order."""
    path = Path(path)
    runs: dict[str, list[EpochReport]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                values = {k: _value(k, v) for k, v in row.items() if k in _FIELDS}
                runs.setdefault(row[RUN_COLUMN], []).append(EpochReport.from_dict(values))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShapeExplorerError(f"{path} is not a run history table: {exc}") from exc
    return runs


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return " ".join(repr(float(v)) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def _value(field: str, text: str) -> Any:
    if field in _TEXTS:
        return text
    if field in _INTEGERS:
        return int(text)
    if field.endswith("_per_dim") or field.endswith("_per_var"):
        return tuple(float(v) for v in text.split())
    return None if text == "" else float(text)
