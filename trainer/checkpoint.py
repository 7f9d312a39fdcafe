"""Checkpoints: one file with config, weights, optimiser state and history; atomic and safe.

Files are loaded with `torch.load(weights_only=True)`, so a file holding pickled Python objects is
refused before any of its code can run.

Writes are atomic: the checkpoint is serialised in memory, written to a temp file beside the
target, fsync'ed, renamed over the target, and the folder entry is fsync'ed. A process killed
mid-write leaves the previous file intact plus a stale temp file, which the next write to the
same path removes (a writer holds an advisory lock on its temp file, so only the temp files of
dead writers are removed).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import os
import pickle
import pickletools
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

from trainer.config import TrainConfig
from trainer.errors import CheckpointError, ShapeExplorerError
from trainer.model import VAE, CategoricalVAE
from trainer.ppca import PPCA, PPCAReport
from trainer.report import EpochReport

try:
    import fcntl
except ImportError:  # not POSIX: stale temp files are left for the user
    fcntl = None  # type: ignore[assignment]

FORMAT_NAME = "shape-latent-explorer"
FORMAT_VERSION = 3
"""Format 3 added the pose setting (files of formats 1-2 load with pose 'none', the network they
hold); format 2 the model kind and the PPCA report; format 1 files (all VAEs) still load."""
MODEL_KINDS = ("vae", "ppca")
"""A trained VAE (Gaussian or categorical latents, as its config says) or a fitted PPCA."""

Model = VAE | CategoricalVAE | PPCA
"""Any model a checkpoint holds; each has encode / decode and `latent_dim` (the code width)."""
_PICKLE_SCAN_BYTES = 1 << 20


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
    kind: str = "vae"
    ppca: PPCAReport | None = None

    def build_model(self) -> Model:
        """The checkpoint's model (VAE, CategoricalVAE or PPCA) holding its weights, in eval
        mode."""
        model: Model
        if self.kind == "ppca":
            model = PPCA.from_config(self.config)
        elif self.config.is_categorical:
            model = CategoricalVAE.from_config(self.config)
        else:
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
        "kind": ckpt.kind,
        "ppca": ckpt.ppca.to_dict() if ckpt.ppca is not None else None,
    }

    def write(f: BinaryIO) -> None:
        # Serialise in memory, then write: torch's zip writer turns a failed write (disk full)
        # into an opaque RuntimeError, a plain write raises OSError (ENOSPC).
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        f.write(buffer.getbuffer())

    return _atomic_write(Path(path), write)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint, or a weights file (``trainer.weights_file``); every problem
    raises CheckpointError naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes)")
    from trainer.weights_file import is_safetensors, load_weights

    if is_safetensors(path):
        return load_weights(path)
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol N": refused below anyway
            warnings.simplefilter("ignore", UserWarning)
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError as exc:
        raise CheckpointError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:  # the weights-only loader runs no code; any failure means a bad file
        if isinstance(exc, pickle.UnpicklingError) and _names_python_objects(path):
            raise CheckpointError(
                f"{path}: refused, the file holds Python objects that could run code on load "
                "(only plain tensors and values are accepted); nothing in it was run") from exc
        raise CheckpointError(
            f"{path}: not a readable checkpoint (corrupt or truncated?)") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a Shape Latent Explorer checkpoint "
                              "(a file from another program?)")
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: unknown checkpoint format version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer version of the app (format {version}); "
                              f"this version reads format {FORMAT_VERSION}; please upgrade")
    kind = raw.get("kind", "vae")
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"{path}: unknown model kind {kind!r} (known: "
                              f"{', '.join(MODEL_KINDS)})")
    try:
        config = TrainConfig.from_dict(_upgraded_config(raw["config"], version))
        ckpt = Checkpoint(
            config=config,
            model_state=raw["model"],
            epoch=int(raw["epoch"]),
            history=[_report(r, config) for r in raw["history"]],
            class_names=tuple(raw.get("class_names") or ()),
            optimizer_state=raw.get("optimizer"),
            rng_state=raw.get("rng"),
            kind=kind,
            ppca=PPCAReport.from_dict(raw["ppca"]) if kind == "ppca" else None,
        )
    except ShapeExplorerError as exc:
        raise CheckpointError(f"{path}: invalid configuration inside: {exc}") from exc
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint is missing or has malformed parts: "
                              f"{_first_line(exc)}") from exc
    _check_parts(path, ckpt)
    return ckpt


def _upgraded_config(values: Any, version: int) -> Any:
    """A saved config as this version reads it: files before format 3 predate pose-aware
    models."""
    if version < 3 and isinstance(values, dict):
        return {"pose": "none", **values}
    return values


def _check_parts(path: Path, ckpt: Checkpoint) -> None:
    """Refuse a checkpoint whose parts have the wrong types or do not fit its model (a damaged
    or edited file), so that no later use (info, resume, the GUI) meets them."""
    problem = _malformed_part(ckpt)
    if problem:
        raise CheckpointError(f"{path}: checkpoint is missing or has malformed parts: {problem}")
    try:
        model = ckpt.build_model()
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    try:
        _try_training_state(model, ckpt)
    except Exception as exc:  # any failure of a trial step on a throwaway copy
        raise CheckpointError(f"{path}: the optimiser or noise state does not fit the model "
                              f"(a damaged or edited file?): {_first_line(exc)}") from exc


def _malformed_part(ckpt: Checkpoint) -> str | None:
    """What is wrong with the types of the checkpoint's parts, or None."""
    state = ckpt.model_state
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        return "the weights must be a table of named tensors"
    if not 0 <= ckpt.epoch <= ckpt.config.epochs:
        return f"epoch {ckpt.epoch} is not within the run's 0..{ckpt.config.epochs} epochs"
    if not all(isinstance(name, str) for name in ckpt.class_names):
        return "class names must be text"
    if ckpt.optimizer_state is not None and not isinstance(ckpt.optimizer_state, dict):
        return "the optimiser state must be a table"
    if ckpt.rng_state is not None and not isinstance(ckpt.rng_state, torch.Tensor):
        return "the noise generator state must be a tensor"
    for report in ckpt.history:
        for f in dataclasses.fields(report):
            value = getattr(report, f.name)
            if value is None and "None" in str(f.type):  # a statistic this model has not
                continue
            many = str(f.type).startswith("tuple")  # e.g. the per-dimension statistics
            values = value if many and isinstance(value, tuple) else (value,)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                return f"epoch report field {f.name} must be numeric, got {value!r}"[:200]
    return None


def _try_training_state(model: torch.nn.Module, ckpt: Checkpoint) -> None:
    """Load the optimiser state into a fresh Adam for `model` and take one step with zero
    gradients (on copies), and set a generator to the noise state: what resuming will do."""
    if ckpt.rng_state is not None:
        torch.Generator().set_state(ckpt.rng_state)
    if ckpt.optimizer_state is None:
        return
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.load_state_dict(copy.deepcopy(ckpt.optimizer_state))
    optimizer.step()


def _report(values: dict[str, Any], config: TrainConfig) -> EpochReport:
    """An epoch report; those of format 1 have no beta: it was the config's, constant."""
    if "beta" not in values:
        values = {**values, "beta": config.beta}
    return EpochReport.from_dict(values)


def _atomic_write(path: Path, write: Any) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(path, folder)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            _lock(f.fileno())
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


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _lock(fd: int) -> None:
    """Mark a temp file as being written: the lock dies with the process, kill -9 included."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _remove_stale_temp_files(path: Path, folder: Path) -> None:
    """Delete the temp files that killed writers left beside `path` (the unlocked ones)."""
    if fcntl is None:
        return
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):  # locked (a live writer) or already gone
                fd = os.open(folder / name, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(folder / name)
                finally:
                    os.close(fd)


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


def _names_python_objects(path: Path) -> bool:
    """Whether the pickle the loader refused names a Python class or function beyond the few
    that torch's own files use (so it would run code). Only reads the opcodes with
    `pickletools`; nothing is unpickled."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
            with archive.open(name) as member:
                data = member.read(_PICKLE_SCAN_BYTES)
    except (OSError, zipfile.BadZipFile, StopIteration, RuntimeError, ValueError):
        try:
            with path.open("rb") as f:
                data = f.read(_PICKLE_SCAN_BYTES)
        except OSError:
            return False
    stream = io.BytesIO(data)  # a legacy (non-zip) file holds several pickles in a row
    strings: list[str] = []
    try:
        while stream.tell() < len(data):
            for opcode, arg, _ in pickletools.genops(stream):
                if isinstance(arg, str):
                    strings = [*strings[-1:], arg]
                if opcode.name in ("GLOBAL", "INST"):  # arg: "module name"
                    if not _is_torch_global(*str(arg).split(" ", 1)):
                        return True
                elif opcode.name == "STACK_GLOBAL":  # module and name pushed just before
                    if len(strings) < 2 or not _is_torch_global(*strings):
                        return True
                elif opcode.name == "OBJ":
                    return True
    except Exception:  # malformed, cut off or tensor bytes: what was seen named nothing else
        return False
    return False


def _is_torch_global(module: str, name: str = "") -> bool:
    return module == "torch" or module.startswith("torch.") or \
        (module, name) == ("collections", "OrderedDict")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
