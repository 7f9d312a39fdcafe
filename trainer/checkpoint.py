"""Checkpoints: one file with config, weights, optimiser state and history; atomic and safe.

Files are loaded with `torch.load(weights_only=True)`, so a file holding pickled Python objects is
refused before any of its code can run. Before that, the file must be a regular file within
`budgets.CHECKPOINT_BYTES`, and its zip directory must promise at most that many inflated bytes
(`budgets.CHECKPOINT_PICKLE_BYTES` for the pickled part); the model the config names is compared
with the weights on torch's "meta" device (no memory) before it is built.

Writes are durable atomic writes (`trainer.atomic`): the checkpoint is serialised in memory,
written to a temp file beside the target, fsync'ed and renamed over the target. A process killed
mid-write leaves the previous file intact plus a stale temp file, which the next write to the
same path removes.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import pickle
import pickletools
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

from trainer import budgets
from trainer.atomic import Writer, atomic_write
from trainer.config import TrainConfig
from trainer.errors import CheckpointError, ShapeExplorerError
from trainer.families import FAMILIES, family_of
from trainer.model import VAE, CategoricalVAE
from trainer.ppca import PPCA, PPCAReport
from trainer.report import EpochReport

FORMAT_NAME = "shape-latent-explorer"
FORMAT_VERSION = 4
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
        """The checkpoint's model (its latent family's: trainer.families) holding its weights,
        in eval mode."""
        model: Model = family_of(self.config, self.kind).build_model()
        try:
            model.load_state_dict(self.model_state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0:2]
            raise CheckpointError(
                "checkpoint weights do not match its model configuration "
                f"(another architecture or resolution?): {' '.join(first)}") from exc
        return model.eval()


def check_model_size(config: TrainConfig, kind: str = "vae") -> None:
    """Refuse a config whose model has more than ``budgets.MODEL_PARAMETERS`` parameters,
    counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        count = sum(t.numel() for t in family_of(config, kind).build_model().state_dict().values())
    if count > budgets.MODEL_PARAMETERS:
        raise budgets.BudgetError(
            f"the configured model has {count / 1e6:,.0f} million parameters, over the "
            f"{budgets.MODEL_PARAMETERS / 1e6:.0f} million limit; use fewer channels, latent "
            "dimensions or a lower resolution")


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
    if budgets.regular_file_size(path, "checkpoint file", budgets.CHECKPOINT_BYTES,
                                 CheckpointError) == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes)")
    from trainer.weights_file import is_safetensors, load_weights

    if is_safetensors(path):
        return load_weights(path)
    _check_inflated_size(path)
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol N": refused below anyway
            warnings.simplefilter("ignore", UserWarning)
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError as exc:
        raise CheckpointError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:  # the weights-only loader runs no code; any failure means a bad file
        if isinstance(exc, pickle.UnpicklingError) and (
                "Unsupported global" in str(exc) or _names_python_objects(path)):
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
    kind = _known_kind(path, raw.get("kind", "vae"))
    try:
        config = TrainConfig.from_dict(_upgraded_config(raw["config"], version))
        ckpt = Checkpoint(
            config=config,
            model_state=raw["model"],
            epoch=int(raw["epoch"]),
            history=[_report(r, config) for r in _history(raw["history"], config)],
            class_names=_class_names(raw.get("class_names")),
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


def _check_inflated_size(path: Path) -> None:
    """Refuse a zip checkpoint whose central directory promises more inflated bytes than the
    budgets allow, and a non-zip (legacy torch) file larger than the pickle budget, before any
    of it is inflated or unpickled."""
    try:
        with path.open("rb") as f:
            end = zipfile._EndRecData(f)  # the end record: where and how big the directory is
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if not end:
        if path.stat().st_size > budgets.CHECKPOINT_PICKLE_BYTES:
            raise CheckpointError(f"{path}: not a readable checkpoint (not a zip archive, and "
                                  f"over {budgets.mib(budgets.CHECKPOINT_PICKLE_BYTES)})")
        return
    if end[zipfile._ECD_SIZE] > budgets.CHECKPOINT_PICKLE_BYTES:
        raise CheckpointError(f"{path}: refused, the zip directory alone is "
                              f"{budgets.mib(end[zipfile._ECD_SIZE])}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception as exc:  # zipfile raises many types for a damaged directory
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated?)") \
            from exc
    inflated = sum(m.file_size for m in members)
    if inflated > budgets.CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path}: refused, its entries inflate to {budgets.mib(inflated)}, over the "
            f"{budgets.mib(budgets.CHECKPOINT_BYTES)} limit for a checkpoint")
    pickled = sum(m.file_size for m in members if m.filename.endswith(".pkl"))
    if pickled > budgets.CHECKPOINT_PICKLE_BYTES:
        raise CheckpointError(
            f"{path}: refused, its pickled part (config, history, names) is "
            f"{budgets.mib(pickled)}, over the {budgets.mib(budgets.CHECKPOINT_PICKLE_BYTES)} "
            "limit")


def _history(values: Any, config: TrainConfig) -> list[Any]:
    """The saved epoch reports: a list no longer than the run's epochs."""
    if not isinstance(values, list):
        raise TypeError(f"the history must be a list, got {type(values).__name__}")
    if len(values) > config.epochs:
        raise ValueError(f"the history has {len(values)} entries for a run of "
                         f"{config.epochs} epochs")
    return values


def _class_names(values: Any) -> tuple[str, ...]:
    """The class names: a list of text (absent in files without classes)."""
    if values is None:
        return ()
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise TypeError("class names must be a list of text")
    return tuple(values)


def _upgraded_config(values: Any, version: int) -> Any:
    """A saved config as this version reads it: files before format 3 predate pose-aware
    models; before format 4, pose 'auto' meant pose dimensions for Gaussian latents with
    latent_dim >= 10 (now it is decided from the data) and there was no augmentation."""
    if not isinstance(values, dict):
        return values
    if version < 3:
        values = {"pose": "none", **values}
    if version < 4:
        values = {**values, "augment": "none"}
        if values.get("pose", "auto") == "auto":
            gaussian = values.get("latent", "gaussian") == "gaussian"
            wide = values.get("latent_dim", TrainConfig().latent_dim)
            values["pose"] = "moments" if gaussian and isinstance(wide, int) and wide >= 10 \
                else "none"
    return values


def _check_parts(path: Path, ckpt: Checkpoint) -> None:
    """Refuse a checkpoint whose parts have the wrong types or do not fit its model (a damaged
    or edited file), so that no later use (info, resume, the GUI) meets them."""
    problem = _malformed_part(ckpt)
    if problem:
        raise CheckpointError(f"{path}: checkpoint is missing or has malformed parts: {problem}")
    mismatch = _weights_mismatch(ckpt)
    if mismatch:
        raise CheckpointError(f"{path}: checkpoint weights do not match its model configuration "
                              f"(another architecture or resolution?): {mismatch}")
    try:
        model = ckpt.build_model()
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    try:
        _try_training_state(model, ckpt)
    except Exception as exc:  # any failure of a trial step on a throwaway copy
        raise CheckpointError(f"{path}: the optimiser or noise state does not fit the model "
                              f"(a damaged or edited file?): {_first_line(exc)}") from exc


def _weights_mismatch(ckpt: Checkpoint) -> str | None:
    """How the weights differ from those of the model the config names (built on the meta
    device, so a config naming a huge model costs nothing), or None."""
    with torch.device("meta"):
        expected = family_of(ckpt.config, ckpt.kind).build_model().state_dict()
    missing = sorted(set(expected) - set(ckpt.model_state))
    unexpected = sorted(set(ckpt.model_state) - set(expected))
    if missing or unexpected:
        return (f"{len(missing)} missing ({', '.join(missing[:3])}), {len(unexpected)} "
                f"unexpected ({', '.join(unexpected[:3])})")
    for name, tensor in expected.items():
        if ckpt.model_state[name].shape != tensor.shape:
            return (f"{name} has shape {tuple(ckpt.model_state[name].shape)}, the config's "
                    f"model {tuple(tensor.shape)}")
    return None


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
            if f.name == "family":
                if not isinstance(value, str) or value not in FAMILIES:
                    return f"epoch report names an unknown latent family {value!r}"[:200]
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


def _known_kind(path: Path, kind: object) -> str:
    """``kind`` when it is one of MODEL_KINDS, else CheckpointError naming it."""
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"{path}: unknown model kind {kind!r} (known: "
                              f"{', '.join(MODEL_KINDS)})")
    return str(kind)


def _atomic_write(path: Path, write: Writer) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, write, durable=True)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from exc


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
