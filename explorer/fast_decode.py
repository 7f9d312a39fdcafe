"""Interactive decoding: the decoder compiled by TorchInductor with its weights frozen in.

Eager Conv3d on CPU takes a slow path for a batch of one, and even batched it re-lays out the
weights on every call. The compiled decoder is a copy in which each nearest upsampling + Conv3d
is a ConvTranspose3d with the folded kernel (`kernels.transposed_decoder`), BatchNorm is folded
into it and the first of them into the linear layer before it; compiled with ``freezing``
the weights become constants pre-packed for oneDNN and ReLU and the sigmoid are fused into the
neighbouring kernels. The output convolution (one channel, which oneDNN runs far below its
peak) is a depthwise convolution summed over channels.

A cold compile takes seconds, so it runs on a background thread after a model loads, for a few
fixed batch sizes (1 for the sliders first, then the gallery's). Until a size is ready, or when
compiling fails (no C++ compiler, an inductor error, outputs that disagree with eager), the
caller decodes eagerly. Qt-free; ``ExplorerSession.decode`` uses it transparently.
"""

from __future__ import annotations

import logging
import os
import sysconfig
import threading
import types
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from trainer.grid_values import GridValues
from trainer.kernels import depthwise_sum, is_one_channel_3x3x3, transposed_decoder
from trainer.model import VAE
from trainer.pose import POSE_DIMS, pose_from_code, to_grid_frame_by_gathers

log = logging.getLogger(__name__)

ENV_SWITCH = "SHAPE_EXPLORER_COMPILE"
"""Set to 0 to keep the viewer on eager decoding (no background compilation)."""

RTOL, ATOL = 1e-3, 1e-4
"""How closely the compiled output must match eager (checked once per batch size)."""

_THREAD_NAME = "decoder-compile"
_failure_logged = threading.Event()
_one_compile_at_a_time = threading.Lock()  # the inductor settings below are process-wide


def compiling() -> bool:
    """True while a decoder compilation runs on a background thread (in any session)."""
    return any(t.name == _THREAD_NAME and t.is_alive() for t in threading.enumerate())


def compile_enabled() -> bool:
    """False when the user switched compilation off with SHAPE_EXPLORER_COMPILE=0."""
    return os.environ.get(ENV_SWITCH, "1").strip() not in ("0", "false", "no", "off")


def missing_toolchain() -> str | None:
    """Why TorchInductor cannot build CPU kernels here, or None when it can.

    It compiles C++ kernels with g++ (or $CXX) that include Python.h.
    """
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception as exc:
        return f"no C++ compiler for TorchInductor ({exc})"
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        return f"no Python headers (Python.h) in {include}"
    return None


class _DepthwiseSum(nn.Module):
    """``Conv3d(C, 1, 3, padding=1)`` as a depthwise convolution summed over the channels
    (`trainer.kernels.depthwise_sum`), with the kernel and bias as buffers (frozen constants)."""

    def __init__(self, conv: nn.Conv3d) -> None:
        super().__init__()
        self.register_buffer("weight", conv.weight.detach().clone())
        bias = conv.bias.detach().clone() if conv.bias is not None else None
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return depthwise_sum(x, self.weight, self.bias)


class _Decode(nn.Module):
    """Latent codes (B, Q) -> grids (B, 1, D, D, D), activated as `values` says."""

    def __init__(self, model: VAE, values: GridValues) -> None:
        super().__init__()
        self.model, self.values = model, values

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.values.activate(self.model.decode(z))


class _FastDecode(nn.Module):
    """`_Decode` rewritten for inference: the decoder is its transposed copy with BatchNorm
    folded in; the linear layer from z and the first transposed convolution (both linear, no
    activation between them) are one linear layer; the output layer is a _DepthwiseSum.

    The composed layer maps the Q inputs straight to the first stage's C x (2b)^3 outputs: at
    32^3, 0.07 M multiply-adds instead of 4.2 M through the 2^3 grid. A pose-aware model's
    logits are resampled into the grid frame as in `VAE.decode`, by gathers that inductor fuses
    (`to_grid_frame_by_gathers`, faster than ``grid_sample``).
    """

    def __init__(self, model: VAE, values: GridValues) -> None:
        super().__init__()
        layers = _fold_batch_norms(transposed_decoder(model.decoder))
        first = layers[0]
        if not isinstance(first, nn.ConvTranspose3d):
            raise TypeError(f"the decoder starts with {type(first).__name__}, not an upsampling")
        grid = (model.channels[-1], *(model.bottom,) * 3)
        self.start = _composed_linear(model.from_z, first, grid)
        self.start_shape = (first.out_channels, *(2 * model.bottom,) * 3)
        rest = list(layers)[1:]
        if rest and is_one_channel_3x3x3(rest[-1]):
            rest[-1] = _DepthwiseSum(rest[-1])
        self.rest = nn.Sequential(*rest)
        self.values, self.pose = values, model.pose

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        shape = z[:, POSE_DIMS:] if self.pose else z
        out = self.rest(self.start(shape).view(-1, *self.start_shape))
        if self.pose:
            out = to_grid_frame_by_gathers(out, *pose_from_code(z[:, :POSE_DIMS]))
        return self.values.activate(out)


def _own_forward(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``module.forward`` bound to ``module`` through a code object of its own.

    TorchDynamo keeps compiled code per code object and compiles one at most
    ``torch._dynamo.config.recompile_limit`` times: with the one ``_FastDecode.forward`` for
    every model, models opened later in a session would no longer compile.
    """
    function = type(module).forward
    own = types.FunctionType(function.__code__.replace(), function.__globals__,
                             function.__name__, function.__defaults__, function.__closure__)
    return types.MethodType(own, module)


@torch.no_grad()
def _composed_linear(linear: nn.Linear, conv: nn.ConvTranspose3d,
                     grid: tuple[int, ...]) -> nn.Linear:
    """One nn.Linear computing ``conv(linear(z).view(-1, *grid)).flatten(1)``."""
    basis = linear.weight.t().reshape(-1, *grid)                  # (Q, C, b, b, b)
    columns = F.conv_transpose3d(basis, conv.weight, None, conv.stride, conv.padding)
    offset = linear.bias if linear.bias is not None else torch.zeros_like(linear.weight[:, 0])
    bias = F.conv_transpose3d(offset.view(1, *grid), conv.weight, conv.bias, conv.stride,
                              conv.padding)
    composed = nn.Linear(linear.in_features, columns[0].numel()).to(linear.weight)
    composed.weight.copy_(columns.flatten(1).t())
    composed.bias.copy_(bias.flatten())
    return composed


def _fold_batch_norms(layers: nn.Sequential) -> nn.Sequential:
    """Each ConvTranspose3d + eval-mode BatchNorm3d pair as one ConvTranspose3d.

    Inductor's freezing folds BatchNorm into transposed convolutions itself, but wrongly when
    they have as many input as output channels (torch 2.13: errors of order 1).
    """
    folded: list[nn.Module] = []
    for layer in layers:
        if (isinstance(layer, nn.BatchNorm3d) and folded
                and isinstance(folded[-1], nn.ConvTranspose3d)):
            conv, norm = folded[-1], layer
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            shift = norm.bias - norm.running_mean * scale
            merged = nn.ConvTranspose3d(conv.in_channels, conv.out_channels, conv.kernel_size,
                                        conv.stride, conv.padding).to(conv.weight.device)
            with torch.no_grad():
                merged.weight.copy_(conv.weight * scale.view(1, -1, 1, 1, 1))
                bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
                merged.bias.copy_(bias * scale + shift)
            folded[-1] = merged
        else:
            folded.append(layer)
    return nn.Sequential(*folded)


class CompiledDecoder:
    """A VAE's decoder compiled for fixed batch sizes on a background thread, used once ready.

    ``start()`` compiles the sizes in the given order; each is checked against eager decoding
    before it is used. ``__call__`` returns None for a size that is not ready (then decode
    eagerly); after any failure it returns None for every size. A failure is logged once per
    process and never raised.
    """

    def __init__(self, model: VAE, batch_sizes: Iterable[int], values: GridValues) -> None:
        self.batch_sizes = tuple(dict.fromkeys(int(b) for b in batch_sizes))
        self.error: str | None = None
        self._latent_dim = model.latent_dim
        self._eager = _Decode(model, values).eval()
        self._compiled: Callable[[torch.Tensor], torch.Tensor] | None = None
        self._ready: frozenset[int] = frozenset()
        self._done = threading.Event()
        self._cancelled = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CompiledDecoder:
        """Begin compiling in the background (once); returns self.

        The thread is not a daemon: a process that exits while inductor compiles can crash in
        its C++ teardown (segmentation fault or abort), so an interpreter exit waits for the
        batch size in progress; `cancel` skips the rest. The app does not wait: it leaves with
        ``os._exit`` while `compiling` (``explorer.ui.app.leave``).
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._compile_all, name=_THREAD_NAME)
            self._thread.start()
        return self

    def cancel(self) -> None:
        """Compile no further batch sizes (the one in progress cannot be interrupted)."""
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until compiling has finished or failed; False on timeout."""
        return self._done.wait(timeout)

    def ready(self, batch_size: int) -> bool:
        return batch_size in self._ready

    @torch.no_grad()
    def __call__(self, z: torch.Tensor) -> torch.Tensor | None:
        """Decode codes (B, Q) float32 with the compiled kernels, or None if B is not ready."""
        if len(z) not in self._ready or self._compiled is None:
            return None
        try:
            # The strides the kernels were compiled for (a code from np.atleast_2d has stride 0).
            return self._compiled(z.clone(memory_format=torch.contiguous_format))
        except Exception as exc:  # never let the fast path break decoding
            self._fail(exc)
            return None

    def _compile_all(self) -> None:
        try:
            reason = missing_toolchain()
            if reason is not None:
                raise RuntimeError(reason)
            fast = _FastDecode(self._eager.model, self._eager.values).eval()
            compiled = torch.compile(_own_forward(fast), dynamic=False, fullgraph=True)
            # Later calls only run what was compiled below: an input its guards reject runs
            # eagerly instead of being recompiled (slowly, and without freezing).
            self._compiled = torch._dynamo.run(compiled)
            codes = torch.Generator().manual_seed(0)
            for size in self.batch_sizes:
                if self._cancelled.is_set():
                    return
                z = torch.randn(size, self._latent_dim, generator=codes)
                # Freezing is a process-wide inductor setting, read while tracing and compiling;
                # it is on only for this first call, which compiles. One compile thread keeps
                # gcc inside this thread instead of a pool of worker processes.
                with torch.no_grad():
                    with _one_compile_at_a_time, torch._inductor.config.patch(
                            freezing=True, compile_threads=1):
                        out = compiled(z)
                    expected = self._eager(z)
                torch.testing.assert_close(out, expected, rtol=RTOL, atol=ATOL)
                if self.error is not None:
                    return
                self._ready = self._ready | {size}
        except Exception as exc:
            self._fail(exc)
        finally:
            self._done.set()

    def _fail(self, exc: Exception) -> None:
        self._ready = frozenset()
        self.error = f"{type(exc).__name__}: {exc}"
        if not _failure_logged.is_set():
            _failure_logged.set()
            log.warning("compiled decoding unavailable, decoding eagerly instead: %s",
                        self.error.splitlines()[0])
