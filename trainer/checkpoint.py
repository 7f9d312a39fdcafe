"""Checkpoints: one file with config, weights, optimiser state and history; atomic and safe.

Files are loaded with `torch.load(weights_only=True)`, so a file holding pickled Python objects is
refused before any of its code can run.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trainer.config import TrainConfig
from trainer.errors import CheckpointError, ShapeExplorerError
from trainer.model import VAE
from trainer.report import EpochReport

FORMAT_NAME = "shape-latent-explorer"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """The content of a checkpoint file, as plain data and tensors."""

    config: TrainConfig
    model_state: dict[str, torch.Tensor]
    epoch: int = 0
    history: list[EpochReport] = field(default_factory=list)
    class_names: tuple[str, ...] = ()
    optimizer_state: dict[str, Any] | None = None
    rng_state: torch.Tensor | None = None

    def build_model(self) -> VAE:
        """A VAE of the checkpoint's config holding its weights (in eval mode)."""
        model = VAE.from_config(self.config)
        try:
            model.load_state_dict(self.model_state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0:2]
            raise CheckpointError(
                "checkpoint weights do not match its model configuration "
                f"(another architecture or resolution?): {' '.join(first)}") from exc
        return model.eval()


def save_checkpoint(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write atomically: temp file in the same folder, fsync, then rename over `path`."""
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": ckpt.config.to_dict(),
        "model": ckpt.model_state,
        "epoch": ckpt.epoch,
        "history": [r.to_dict() for r in ckpt.history],
        "class_names": list(ckpt.class_names),
        "optimizer": ckpt.optimizer_state,
        "rng": ckpt.rng_state,
    }
    return _atomic_write(Path(path), lambda f: torch.save(payload, f))


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; every problem raises CheckpointError naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):  # a class or function reference: code that would run
            raise CheckpointError(
                f"{path}: refused, the file holds Python objects that could run code on load "
                "(only plain tensors and values are accepted)") from exc
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated?)") from exc
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated?): "
                              f"{_first_line(exc)}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a Shape Latent Explorer checkpoint "
                              "(a file from another program?)")
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: unknown checkpoint format version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer version of the app (format {version}); "
                              f"this version reads format {FORMAT_VERSION}; please upgrade")
    try:
        ckpt = Checkpoint(
            config=TrainConfig.from_dict(raw["config"]),
            model_state=raw["model"],
            epoch=int(raw["epoch"]),
            history=[EpochReport.from_dict(r) for r in raw["history"]],
            class_names=tuple(raw.get("class_names") or ()),
            optimizer_state=raw.get("optimizer"),
            rng_state=raw.get("rng"),
        )
    except ShapeExplorerError as exc:
        raise CheckpointError(f"{path}: invalid configuration inside: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: checkpoint is missing or has malformed parts: "
                              f"{_first_line(exc)}") from exc
    ckpt.build_model()
    return ckpt


def export_safetensors(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write the model weights (and the config as metadata) as a .safetensors file."""
    from safetensors.torch import save

    tensors = {k: v.contiguous() for k, v in ckpt.model_state.items()}
    metadata = {"format": FORMAT_NAME, "config": json.dumps(ckpt.config.to_dict())}
    data = save(tensors, metadata=metadata)
    return _atomic_write(Path(path), lambda f: f.write(data))


def _atomic_write(path: Path, write: Any) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    _fsync_folder(folder)
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
