"""A run's TensorBoard log: per-epoch scalars, and at the end hparams, embedding and meshes.

Fed from the EpochReports a run emits (`write_epoch`) and the final checkpoint (`finish`):

- scalars per epoch: every number of the report (loss terms, IoU, Hamming, latent statistics,
  learning rate, speed) and every per-dimension value (Var(mu_d), ...) as ``latent/<field>/<d>``;
- hparams: the run's settings with its final validation loss, IoU, Hamming distance and active
  units (TensorBoard's HPARAMS tab compares runs logged into sibling folders);
- the validation codes (posterior means; categorical: the one-hot modes) as a projector
  embedding with each shape's class as metadata and a depth picture of the shape as its sprite;
- a few validation shapes and their reconstructions as meshes (marching cubes).

Needs the optional ``tensorboard`` package (the ``[tensorboard]`` extra); `check_available`
says so in one line before a run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from skimage.measure import marching_cubes

from trainer.checkpoint import Checkpoint
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.errors import ConfigError
from trainer.families import family_of
from trainer.grid_values import grid_values
from trainer.report import EpochReport

EMBEDDING_SHAPES = 1000
"""At most this many validation codes go into the projector (the first ones)."""
MESHES = 4
"""Validation shapes logged as meshes, each with its reconstruction."""
FINAL_METRICS = ("val_loss", "val_iou", "val_hamming", "active_units")
MISSING_MESSAGE = ("TensorBoard logging needs the tensorboard package: "
                   "pip install 'shape-latent-explorer[tensorboard]' (or pip install tensorboard)")
_GROUPS = {"train_": "train", "val_": "validation"}
_LATENT = ("mu_mean", "mu_var", "logvar_mean", "entropy_mean", "active_units", "latent_dim")
_SKIPPED = ("epoch", "family")


def check_available(log_dir: Path | None = None) -> None:
    """Raise ConfigError naming the extra when the tensorboard package is missing, or when
    ``log_dir`` exists and is not a folder."""
    _summary_writer_class()
    if log_dir is not None and log_dir.exists() and not log_dir.is_dir():
        raise ConfigError(f"the TensorBoard log {log_dir} is a file; give a folder")


def _summary_writer_class() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(MISSING_MESSAGE) from None
    return SummaryWriter


def scalar_tag(field: str) -> str:
    """Where a report field's curve goes: ``train/loss``, ``validation/iou``, ``latent/mu_var``,
    ``run/lr``."""
    for prefix, group in _GROUPS.items():
        if field.startswith(prefix):
            return f"{group}/{field[len(prefix):]}"
    return f"latent/{field}" if field in _LATENT else f"run/{field}"


class TensorBoardLog:
    """Writes one run into ``log_dir`` (created when missing); call `close` at the end."""

    def __init__(self, log_dir: str | Path, config: TrainConfig, val: ShapeSet) -> None:
        writer_class = _summary_writer_class()
        self.log_dir = Path(log_dir)
        self.config, self.val = config, val
        try:
            self.writer = writer_class(log_dir=str(self.log_dir), flush_secs=10)
        except OSError as exc:
            raise ConfigError(f"cannot write the TensorBoard log {self.log_dir}: "
                              f"{exc.strerror or exc}") from exc

    def write_epoch(self, report: EpochReport) -> None:
        """The report's numbers as scalars at step ``report.epoch``."""
        for field, value in report.to_dict().items():
            if field in _SKIPPED or value is None:
                continue
            if isinstance(value, list):
                for d, v in enumerate(value):
                    self.writer.add_scalar(f"latent/{field}/{d:03d}", v, report.epoch)
            else:
                self.writer.add_scalar(scalar_tag(field), value, report.epoch)

    def finish(self, ckpt: Checkpoint) -> None:
        """The run's hparams with its final metrics, the validation embedding and meshes."""
        if not ckpt.history:
            return
        last = ckpt.history[-1]
        self._write_hparams(last)
        model = ckpt.build_model()
        shapes = self.val.subset(np.arange(min(len(self.val), EMBEDDING_SHAPES)))
        codes, grids = _codes_and_reconstructions(model, ckpt.config, shapes, MESHES)
        self.writer.add_embedding(
            torch.from_numpy(codes), metadata=[shapes.class_names[k] for k in shapes.labels],
            label_img=torch.from_numpy(_sprites(shapes)), global_step=last.epoch,
            tag="validation_codes")
        values = grid_values(ckpt.config)
        level, inside_low = values.iso_level, values.inside_low
        for i, decoded in enumerate(grids):
            self._write_mesh(f"input/{i}", shapes.float_grids()[i, 0], level, inside_low,
                             last.epoch)
            self._write_mesh(f"reconstruction/{i}", decoded, level, inside_low, last.epoch)

    def close(self) -> None:
        self.writer.close()

    def _write_hparams(self, last: EpochReport) -> None:
        from torch.utils.tensorboard.summary import hparams

        settings = {k: v if isinstance(v, int | float | str | bool) else str(v)
                    for k, v in self.config.to_dict().items()}
        metrics = {f"final/{name}": float(getattr(last, name)) for name in FINAL_METRICS}
        for summary in hparams(settings, metrics):
            self.writer.file_writer.add_summary(summary)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, last.epoch)

    def _write_mesh(self, tag: str, grid: np.ndarray, level: float, inside_low: bool,
                    step: int) -> None:
        mesh = _mesh(grid, level, inside_low)
        if mesh is not None:
            vertices, faces = mesh
            self.writer.add_mesh(tag, torch.from_numpy(vertices[None]),
                                 faces=torch.from_numpy(faces[None]), global_step=step)


@torch.no_grad()
def _codes_and_reconstructions(model: torch.nn.Module, config: TrainConfig, shapes: ShapeSet,
                               count: int, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The codes of every shape (N, code width) and the decoded grids of the first ``count``."""
    family, values = family_of(config), grid_values(config)
    codes = []
    for start in range(0, len(shapes), batch):
        y = torch.from_numpy(shapes.grids[start:start + batch]).float()
        codes.append(family.codes(family.posterior(model, y)).float())
    z = torch.cat(codes)
    decoded = values.activate(model.decode(z[:count]).float())[:, 0]
    return z.numpy(), decoded.numpy()


def _mesh(grid: np.ndarray, level: float, inside_low: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Marching-cubes vertices (unit cube, float32) and faces (int32), or None when empty."""
    field = -np.asarray(grid, dtype=np.float32) if inside_low else np.asarray(grid, np.float32)
    level = -level if inside_low else level
    padded = np.pad(field, 1, constant_values=min(float(field.min()), level) - 1.0)
    if not padded.min() < level < padded.max():
        return None
    vertices, faces, _, _ = marching_cubes(padded, level, gradient_direction="ascent")
    vertices = (vertices - 0.5) / field.shape[0]
    return vertices.astype(np.float32), faces.astype(np.int32)


def _sprites(shapes: ShapeSet) -> np.ndarray:
    """(N, 3, D, D) float pictures in [0, 1]: each shape seen from the front (along +y), nearer
    surfaces brighter, z up, on black."""
    grids = shapes.float_grids()[:, 0]
    inside = grids < 0 if shapes.signed else grids > 0.5
    depth = inside.shape[2]
    hit = inside.any(axis=2)
    first = np.argmax(inside, axis=2)                       # (N, x, z)
    shade = np.where(hit, 1.0 - 0.7 * first / max(depth - 1, 1), 0.0)
    picture = shade.transpose(0, 2, 1)[:, ::-1, :]          # rows: z from the top
    return np.repeat(picture[:, None], 3, axis=1).astype(np.float32)
