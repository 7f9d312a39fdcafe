"""Data sets: grids of shapes with class labels."""

from trainer.data.procedural import SHAPE_KINDS, make_procedural, voxelise
from trainer.data.shapeset import ShapeSet

__all__ = ["SHAPE_KINDS", "ShapeSet", "make_procedural", "voxelise"]
