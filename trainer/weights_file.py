"""Model weights as a .safetensors file: a format that holds only tensors and text, so opening one
cannot run code.

``save_weights`` writes the model's tensors and, in the file's metadata (text fields), what it
takes to rebuild and explore the model: the format name and version, the model kind, the config,
the class names, the epoch and the history (and a PPCA model's fit). ``load_weights`` reads such
a file back as a ``Checkpoint`` without optimiser or noise state (it explores and samples, it
cannot resume training); ``load_checkpoint`` calls it for every file that ``is_safetensors``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from trainer.checkpoint import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Checkpoint,
    _atomic_write,
    _check_parts,
    _first_line,
    _known_kind,
    _report,
    _upgraded_config,
)
from trainer.config import TrainConfig
from trainer.errors import CheckpointError, ShapeExplorerError
from trainer.ppca import PPCAReport

_HEADER_PREFIX = 8
"""A safetensors file starts with its JSON header's length (u64, little-endian), then '{'."""


def is_safetensors(path: Path) -> bool:
    """Whether the file starts like a safetensors file (whatever its name)."""
    try:
        with path.open("rb") as f:
            start = f.read(_HEADER_PREFIX + 1)
    except OSError:
        return False
    if len(start) < _HEADER_PREFIX + 1:
        return False
    (length,) = struct.unpack("<Q", start[:_HEADER_PREFIX])
    return start[_HEADER_PREFIX:] == b"{" and length <= path.stat().st_size - _HEADER_PREFIX


def save_weights(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write the model weights with the metadata above, atomically."""
    from safetensors.torch import save

    tensors = {k: v.contiguous() for k, v in ckpt.model_state.items()}
    metadata = {"format": FORMAT_NAME, "version": str(FORMAT_VERSION), "kind": ckpt.kind,
                "config": json.dumps(ckpt.config.to_dict()),
                "class_names": json.dumps(list(ckpt.class_names)),
                "epoch": str(ckpt.epoch),
                "history": json.dumps([r.to_dict() for r in ckpt.history])}
    if ckpt.ppca is not None:
        metadata["ppca"] = json.dumps(ckpt.ppca.to_dict())
    data = save(tensors, metadata=metadata)
    return _atomic_write(Path(path), lambda f: f.write(data))


def load_weights(path: str | Path) -> Checkpoint:
    """Read a file ``save_weights`` wrote; CheckpointError names any problem in one line."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except PermissionError as exc:
        raise CheckpointError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:  # the safetensors parser runs no code; failing means a bad file
        raise CheckpointError(f"{path}: not a readable safetensors file (corrupt or "
                              f"truncated?): {_first_line(exc)}") from exc
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a Shape Latent Explorer checkpoint (a safetensors "
                              "file from another program? it lacks this app's metadata)")
    version = metadata.get("version", "")
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: unknown weights file format version {version!r}; this "
                              f"version reads up to {FORMAT_VERSION}")
    kind = _known_kind(path, metadata.get("kind", ""))
    try:
        config = TrainConfig.from_dict(_upgraded_config(_json(metadata, "config"), int(version)))
        ckpt = Checkpoint(
            config=config, model_state=tensors, epoch=int(metadata.get("epoch", "0")),
            history=[_report(r, config) for r in _json(metadata, "history", [])],
            class_names=tuple(_json(metadata, "class_names", [])), kind=kind,
            ppca=PPCAReport.from_dict(_json(metadata, "ppca")) if kind == "ppca" else None)
    except ShapeExplorerError as exc:
        raise CheckpointError(f"{path}: invalid configuration inside: {exc}") from exc
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise CheckpointError(f"{path}: weights file is missing or has malformed parts: "
                              f"{_first_line(exc)}") from exc
    _check_parts(path, ckpt)
    return ckpt


def _json(metadata: dict[str, str], key: str, default: Any = None) -> Any:
    """The metadata field ``key`` decoded from JSON (``default`` when absent; KeyError when
    absent without a default)."""
    if key not in metadata:
        if default is None:
            raise KeyError(f"no {key} in the metadata")
        return default
    return json.loads(metadata[key])
