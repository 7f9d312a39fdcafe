"""Turn a config's `data` setting into a ShapeSet."""

from __future__ import annotations

from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.data.shapeset import ShapeSet


def load_shapes(config: TrainConfig) -> ShapeSet:
    """The built-in procedural solids (occupancy or signed distances, as `config.grid` says),
    or the shapes in the folder `config.data`."""
    if config.is_builtin_data:
        if config.grid == "sdf":
            return make_procedural(config.dataset_size, config.resolution, config.seed,
                                   grid="sdf", truncation=config.sdf_truncation)
        return make_procedural(config.dataset_size, config.resolution, config.seed)
    from trainer.data.folder import load_folder

    return load_folder(config.data, config.resolution)
