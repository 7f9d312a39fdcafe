"""A loaded model ready to explore: encode, sample the prior, traverse, interpolate, decode.

Qt-free. Decoding runs in eval mode without gradients on a private copy of the weights, so a
session never touches a model that is still training.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.fast_decode import CompiledDecoder, compile_enabled
from trainer.checkpoint import Checkpoint, load_checkpoint
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.device import resolve_device
from trainer.model import VAE
from trainer.perf import MEMORY_FORMAT
from trainer.report import EpochReport

INTERPOLATIONS = ("linear", "slerp")


@dataclass
class ExplorerSession:
    """A trained model (a snapshot) plus, optionally, the shapes it was trained on."""

    model: VAE
    config: TrainConfig
    class_names: tuple[str, ...] = ()
    history: list[EpochReport] = field(default_factory=list)
    shapes: ShapeSet | None = None
    compiled: CompiledDecoder | None = field(default=None, init=False, repr=False,
                                                compare=False)

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | Path, shapes: ShapeSet | None = None,
                        device: str | torch.device = "cpu") -> ExplorerSession:
        """Build from a Checkpoint or a checkpoint file (raises CheckpointError); the model
        computes on `device` (see trainer.device.resolve_device)."""
        if not isinstance(ckpt, Checkpoint):
            ckpt = load_checkpoint(ckpt)
        model = ckpt.build_model().to(resolve_device(device), memory_format=MEMORY_FORMAT)
        return cls(model, ckpt.config, ckpt.class_names, list(ckpt.history), shapes)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def resolution(self) -> int:
        return self.config.resolution

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def dimension_variances(self) -> np.ndarray:
        """Validation Var(mu_d) per dimension from the last epoch (NaN where unknown)."""
        if not self.history:
            return np.full(self.latent_dim, np.nan)
        return np.asarray(self.history[-1].mu_var_per_dim, dtype=np.float64)

    @torch.no_grad()
    def encode(self, grids: np.ndarray) -> np.ndarray:
        """Grids (B, 1, D, D, D) or (B, D, D, D) -> posterior means mu (B, Q)."""
        y = torch.as_tensor(np.asarray(grids, dtype=np.float32))
        if y.ndim == 4:
            y = y.unsqueeze(1)
        self.model.eval()
        mu, _ = self.model.encode(y.to(self.device).contiguous(memory_format=MEMORY_FORMAT))
        return mu.cpu().numpy().astype(np.float64)

    def compile_decoder(self, batch_sizes: Iterable[int]) -> CompiledDecoder | None:
        """Start compiling the decoder for these batch sizes in the background (once).

        `decode` uses the compiled kernels for a batch size as soon as it is ready. Returns
        None when compilation is switched off (SHAPE_EXPLORER_COMPILE=0) or the model is not on
        the CPU (the compiled kernels are CPU kernels).
        """
        if self.compiled is None and compile_enabled() and self.device.type == "cpu":
            self.model.eval()
            self.compiled = CompiledDecoder(
                self.model, batch_sizes, probabilities=self.config.likelihood == "bernoulli"
            ).start()
        return self.compiled

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent codes (Q,) or (B, Q) -> grids (D, D, D) or (B, D, D, D) float32.

        Bernoulli models give occupancy probabilities; Gaussian models give the decoded values.
        """
        z = np.asarray(z, dtype=np.float32)
        single = z.ndim == 1
        codes = torch.from_numpy(np.atleast_2d(z))
        out = self.compiled(codes) if self.compiled is not None else None
        if out is None:
            out = self._decode_eager(codes)
        grids = out[:, 0].contiguous().cpu().numpy()
        return grids[0] if single else grids

    def _decode_eager(self, codes: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        # A batch of one sends eager Conv3d down its slow unbatched path (about 6x slower here
        # than a batch of two), so a lone code is decoded as a pair and the copy dropped.
        batch = codes.repeat(2, 1) if len(codes) == 1 else codes
        out = self.model.decode(batch.to(self.device))[: len(codes)]
        return torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out


def prior_samples(n: int, latent_dim: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """n codes z ~ N(0, T^2 I), reproducible for a given seed: (n, Q)."""
    if n < 0 or temperature < 0:
        raise ValueError("n and temperature must be non-negative")
    return temperature * np.random.default_rng(seed).standard_normal((n, latent_dim))


def traverse(z: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
    """Copies of code `z` with dimension `dim` set to each of `values`: (K, Q)."""
    codes = np.repeat(np.asarray(z, dtype=np.float64)[None], len(values), axis=0)
    codes[:, dim] = values
    return codes


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    """`steps` codes from z0 to z1 inclusive, linearly or along the great circle (slerp): (K, Q).

    Slerp interpolates direction spherically and norm linearly, which keeps codes at the norm a
    Gaussian prior expects instead of cutting through the low-density centre.
    """
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    if method not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {method!r}")
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if method == "linear":
        return (1 - t) * z0 + t * z1
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < 1e-12 or n1 < 1e-12:
        return (1 - t) * z0 + t * z1
    u0, u1 = z0 / n0, z1 / n1
    omega = np.arccos(np.clip(u0 @ u1, -1.0, 1.0))
    if omega < 1e-6:
        direction = (1 - t) * u0 + t * u1
    else:
        direction = (np.sin((1 - t) * omega) * u0 + np.sin(t * omega) * u1) / np.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)
