"""Turn a config's `data` setting into a ShapeSet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.data.shapeset import ShapeSet

if TYPE_CHECKING:  # the folder importer (and trimesh) load on first use
    from trainer.data.folder import Cancel, ImportReport, Progress


@dataclass(frozen=True)
class RunData:
    """A run's shapes; a folder import also gives its report (file names, skipped files)."""

    shapes: ShapeSet
    report: ImportReport | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """A name per shape: file paths below an imported folder, none for built-in solids."""
        return self.report.files if self.report is not None else ()


def load_run_data(config: TrainConfig, *, progress: Progress | None = None,
                  cancel: Cancel | None = None) -> RunData:
    """The shapes a run trains on: the built-in solids, or the folder `config.data` imported
    with `progress(done, total, name)` calls, stopped (ImportCancelled) when `cancel()` is
    True."""
    if config.is_builtin_data:
        return RunData(load_shapes(config))
    from trainer.data.folder import load_folder_with_report

    shapes, report = load_folder_with_report(config.data, config.resolution, progress=progress,
                                             cancel=cancel)
    return RunData(shapes, report)


def load_shapes(config: TrainConfig) -> ShapeSet:
    """The built-in procedural solids (occupancy or signed distances, as `config.grid` says),
    or the shapes in the folder `config.data`."""
    if config.is_builtin_data:
        if config.grid == "sdf":
            return make_procedural(config.dataset_size, config.resolution, config.seed,
                                   grid="sdf", truncation=config.sdf_truncation)
        return make_procedural(config.dataset_size, config.resolution, config.seed)
    return load_run_data(config).shapes
