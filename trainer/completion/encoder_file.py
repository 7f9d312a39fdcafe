"""Completion-encoder files (``<stem>.completion.pt`` beside the VAE's checkpoint): written
atomically (trainer.atomic), read with ``torch.load(weights_only=True)`` after the same size
checks as checkpoints, and checked against the VAE they were trained for."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from trainer import budgets
from trainer.atomic import atomic_write
from trainer.completion.amortised import (
    CompletionConfig,
    CompletionEncoder,
    CompletionReport,
    CompletionState,
    decoder_fingerprint,
)
from trainer.errors import CheckpointError, ShapeExplorerError

FORMAT_NAME = "shape-latent-explorer-completion"
FORMAT_VERSION = 2


def save_completion(path: str | Path, state: CompletionState, *,
                    keep_optimizer: bool = True) -> Path:
    """Write ``state`` atomically (without the optimiser state unless ``keep_optimizer``)."""
    path = Path(path)
    payload = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "config": state.config.to_dict(),
        "resolution": state.resolution, "code_dim": state.code_dim,
        "model": state.model_state, "decoder": state.decoder_fingerprint,
        "epoch": state.epoch, "history": [r.to_dict() for r in state.history],
        "optimizer": state.optimizer_state if keep_optimizer else None,
    }

    def write(f: BinaryIO) -> None:
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        f.write(buffer.getbuffer())

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, write, durable=True)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from exc


def load_completion(path: str | Path, vae: nn.Module | None = None) -> CompletionState:
    """Read a completion-encoder file; with ``vae``, refuse one trained for another model.
    Every problem raises CheckpointError naming it."""
    path = Path(path)
    budgets.regular_file_size(path, "completion encoder file", budgets.CHECKPOINT_BYTES,
                              CheckpointError)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the weights-only loader runs no code; any failure: a bad file
        raise CheckpointError(f"{path}: not a readable completion encoder file (corrupt, "
                              "truncated, or holding Python objects)") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a completion encoder file")
    if raw.get("version") not in (1, FORMAT_VERSION):
        raise CheckpointError(f"{path}: unknown completion encoder format version "
                              f"{raw.get('version')!r}")
    try:
        state = CompletionState(
            config=CompletionConfig.from_dict(_upgraded(raw["config"], raw["version"])),
            resolution=int(raw["resolution"]), code_dim=int(raw["code_dim"]),
            model_state=_tensors(raw["model"]), decoder_fingerprint=str(raw["decoder"]),
            epoch=int(raw["epoch"]),
            history=[CompletionReport.from_dict(r) for r in raw["history"]],
            optimizer_state=raw.get("optimizer"))
        state.build_encoder()
    except (ShapeExplorerError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the completion encoder file is damaged: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                              ) from exc
    if vae is not None:
        check_belongs(path, state, vae)
    return state


def _upgraded(config: Any, version: int) -> Any:
    """Version 1 files predate the observed frame: their encoders predict grid-frame poses."""
    if version == 1 and isinstance(config, dict):
        return {**config, "frame": "grid"}
    return config


def check_belongs(path: Path, state: CompletionState, vae: nn.Module) -> None:
    """Refuse a completion encoder trained for another VAE (another decoder or code size)."""
    if state.code_dim != vae.latent_dim or state.decoder_fingerprint != decoder_fingerprint(vae):
        raise CheckpointError(f"{path}: this completion encoder was trained for another model "
                              "(its decoder differs); train one for this model with "
                              "`train-completion`")


def load_encoder(path: str | Path, vae: nn.Module) -> CompletionEncoder:
    """The completion encoder of ``path``, checked to belong to ``vae``, in eval mode."""
    return load_completion(path, vae).build_encoder()


def _tensors(values: Any) -> dict[str, torch.Tensor]:
    if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in values.items()):
        raise TypeError("the weights must be a table of named tensors")
    return values
