"""Where a run computes: device choice (`auto`, `cpu`, `cuda`, `cuda:N`) and mixed precision.

The device and the precision describe how a run is computed, not what it learns, so they are not
part of TrainConfig: a checkpoint trained on a GPU loads and resumes on a CPU and vice versa.
Qt-free; the GUI lists `device_choices()` and shows `describe_devices()`.
"""

from __future__ import annotations

import re

import torch

from trainer.errors import ConfigError

AMP_MODES = ("off", "bf16", "fp16")
_SPEC = re.compile(r"(auto|cpu|cuda)(?::(\d+))?")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """`auto` (CUDA when present, else CPU), `cpu`, `cuda` (= cuda:0) or `cuda:N` -> a device.

    Raises ConfigError for a malformed spec or a GPU that is not there.
    """
    text = str(spec).strip().lower()
    match = _SPEC.fullmatch(text)
    if match is None or (match[1] != "cuda" and match[2] is not None):
        raise ConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {str(spec)!r}")
    kind, index = match[1], int(match[2] or 0)
    if kind == "auto":
        return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"device {text!r} requested but {_no_cuda_reason()}; use --device cpu")
    count = torch.cuda.device_count()
    if index >= count:
        raise ConfigError(f"device cuda:{index} does not exist: {count} GPU(s) found "
                          f"(cuda:0 to cuda:{count - 1})")
    return torch.device("cuda", index)


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `--amp off|bf16|fp16` on `device`; None means plain fp32."""
    if mode not in AMP_MODES:
        raise ConfigError(f"amp must be one of {AMP_MODES}, got {mode!r}")
    if mode == "off":
        return None
    if device.type != "cuda":
        raise ConfigError(f"mixed precision ({mode}) needs a CUDA device; {device.type} training "
                          "runs in fp32 (use --amp off)")
    if mode == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"{torch.cuda.get_device_name(device)} does not support bf16; "
                          "use --amp fp16")
    return torch.bfloat16 if mode == "bf16" else torch.float16


def device_choices() -> tuple[str, ...]:
    """The device specs that work on this machine, `auto` first (for a drop-down)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ("auto", "cpu", *(f"cuda:{i}" for i in range(gpus)))


def describe_devices() -> str:
    """One line per compute device found, for people (GUI tooltip, CLI banner)."""
    lines = [f"cpu: {torch.get_num_threads()} threads"]
    if not torch.cuda.is_available():
        lines.append(f"cuda: none ({_no_cuda_reason()})")
    for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        props = torch.cuda.get_device_properties(i)
        lines.append(f"cuda:{i}: {props.name}, {props.total_memory / 2**30:.0f} GiB")
    return "\n".join(lines)


def _no_cuda_reason() -> str:
    if not torch.backends.cuda.is_built():
        return "this PyTorch build has no CUDA support"
    return "no CUDA GPU was found"
