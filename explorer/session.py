"""A loaded model ready to explore: encode, sample the prior, traverse, interpolate, decode.

The model is a VAE with Gaussian codes (Q numbers), a VAE with categorical codes (K variables of
C classes, a code is K one-hot vectors flattened to K x C numbers; interpolations mix one-hots
inside the simplex), or a PPCA baseline (Gaussian codes, decoded linearly). Occupancy models
decode to probabilities meshed at 0.5; signed-distance models (config.grid == "sdf") decode to
distances, negative inside, meshed at 0 with ``inside_low``.

Qt-free. Decoding runs in eval mode without gradients on a private copy of the weights, so a
session never touches a model that is still training.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.fast_decode import CompiledDecoder, compile_enabled
from trainer.checkpoint import Checkpoint, Model, load_checkpoint
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.device import resolve_device
from trainer.discrete import mode_code
from trainer.perf import MEMORY_FORMAT
from trainer.pose import POSE_DIMS
from trainer.ppca import PPCAReport
from trainer.report import EpochReport

INTERPOLATIONS = ("linear", "slerp")


@dataclass
class ExplorerSession:
    """A trained model (a snapshot) plus, optionally, the data set it was trained on.

    ``shape_names`` names the ``shapes`` one by one (file paths below an imported folder), or is
    empty (built-in solids).
    """

    model: Model
    config: TrainConfig
    class_names: tuple[str, ...] = ()
    history: list[EpochReport] = field(default_factory=list)
    shapes: ShapeSet | None = None
    shape_names: tuple[str, ...] = ()
    kind: str = "vae"
    ppca: PPCAReport | None = None
    compiled: CompiledDecoder | None = field(default=None, init=False, repr=False,
                                                compare=False)

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | Path, shapes: ShapeSet | None = None,
                        device: str | torch.device = "cpu",
                        shape_names: tuple[str, ...] = ()) -> ExplorerSession:
        """Build from a Checkpoint or a checkpoint file (raises CheckpointError); the model
        computes on `device` (see trainer.device.resolve_device)."""
        if not isinstance(ckpt, Checkpoint):
            ckpt = load_checkpoint(ckpt)
        model = ckpt.build_model().to(resolve_device(device), memory_format=MEMORY_FORMAT)
        return cls(model, ckpt.config, ckpt.class_names, list(ckpt.history), shapes,
                   tuple(shape_names), kind=ckpt.kind, ppca=ckpt.ppca)

    @property
    def latent_dim(self) -> int:
        """Q latent dimensions, or K categorical variables (one slider / class picker each)."""
        return self.config.latent_dim

    @property
    def latent_kind(self) -> str:
        """'gaussian' (PPCA included) or 'categorical'."""
        return "categorical" if self.is_categorical else "gaussian"

    @property
    def is_categorical(self) -> bool:
        return self.kind == "vae" and self.config.is_categorical

    @property
    def categorical_classes(self) -> int:
        """C classes per categorical variable; 0 for Gaussian codes."""
        return self.config.categorical_classes if self.is_categorical else 0

    @property
    def code_dim(self) -> int:
        """Width of the codes `decode` takes: Q, or K x C."""
        return self.latent_dim * (self.categorical_classes or 1)

    @property
    def pose_dims(self) -> int:
        """Leading code dimensions that hold the shape's pose (trainer.pose); 0 for none."""
        return POSE_DIMS if getattr(self.model, "pose", False) else 0

    @property
    def signed_distance(self) -> bool:
        """Whether grids are signed distances (negative inside) instead of probabilities."""
        return self.config.grid == "sdf"

    @property
    def iso_level(self) -> float:
        """The default surface level: 0.5 for probabilities, 0 for signed distances."""
        return 0.0 if self.signed_distance else 0.5

    @property
    def inside_low(self) -> bool:
        """Pass to meshing.mesh_from_grid: inside is below the level (signed distances)."""
        return self.signed_distance

    @property
    def value_range(self) -> tuple[float, float]:
        """The range of decoded values a threshold may lie in (exclusive)."""
        return (-1.0, 1.0) if self.signed_distance else (0.0, 1.0)

    @property
    def interpolation_methods(self) -> tuple[str, ...]:
        """Categorical codes interpolate linearly only (slerp would leave the simplex)."""
        return ("linear",) if self.is_categorical else INTERPOLATIONS

    @property
    def resolution(self) -> int:
        return self.config.resolution

    @property
    def device(self) -> torch.device:
        return next(itertools.chain(self.model.parameters(), self.model.buffers())).device

    def class_members(self, class_index: int) -> np.ndarray:
        """Positions in ``shapes`` of the shapes of class ``class_index`` (empty: no data)."""
        if self.shapes is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.shapes.labels == class_index)

    def shape_name(self, position: int) -> str:
        """What to call the data set's shape at ``position``: its file, else "class #k"."""
        if position < len(self.shape_names):
            return self.shape_names[position]
        assert self.shapes is not None
        label = int(self.shapes.labels[position])
        rank = int(np.searchsorted(self.class_members(label), position))
        return f"{self.shapes.class_names[label]} #{rank + 1}"

    def dimension_variances(self) -> np.ndarray:
        """Validation Var(mu_d) per dimension from the last epoch, or from the PPCA fit (NaN
        where unknown, and for categorical variables: see `variable_information`)."""
        if self.ppca is not None:
            return np.asarray(self.ppca.mu_var_per_dim, dtype=np.float64)
        if not self.history or not self.history[-1].mu_var_per_dim:
            return np.full(self.latent_dim, np.nan)
        return np.asarray(self.history[-1].mu_var_per_dim, dtype=np.float64)

    def variable_information(self) -> np.ndarray:
        """Validation mutual information I(y; z_k) in nats per categorical variable from the
        last epoch (NaN where unknown); a variable is active above
        trainer.stats.ACTIVE_VARIABLE_NATS."""
        if not self.history or not self.history[-1].mutual_info_per_var:
            return np.full(self.latent_dim, np.nan)
        return np.asarray(self.history[-1].mutual_info_per_var, dtype=np.float64)

    @torch.no_grad()
    def encode(self, grids: np.ndarray) -> np.ndarray:
        """Grids (B, 1, D, D, D) or (B, D, D, D) -> codes (B, code_dim): the posterior means,
        or for categorical codes the most probable class of each variable, one-hot."""
        y = torch.as_tensor(np.asarray(grids, dtype=np.float32))
        if y.ndim == 4:
            y = y.unsqueeze(1)
        self.model.eval()
        posterior = self.model.encode(y.to(self.device).contiguous(memory_format=MEMORY_FORMAT))
        codes = mode_code(posterior) if self.is_categorical else posterior[0]
        return codes.cpu().numpy().astype(np.float64)

    def prior_samples(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes from the prior, reproducible for a seed: z ~ N(0, T^2 I), or for categorical
        codes a uniformly drawn class per variable, one-hot (T does not apply): (n, code_dim)."""
        if self.is_categorical:
            return categorical_prior_samples(n, self.latent_dim, self.categorical_classes, seed)
        return prior_samples(n, self.latent_dim, seed, temperature)

    def traverse(self, code: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
        """Copies of `code` with dimension `dim` set to each of `values`, or for categorical
        codes with variable `dim` switched to each of the classes `values`: (len(values),
        code_dim)."""
        if self.is_categorical:
            classes = np.repeat(self.classes_of(code)[None], len(values), axis=0)
            classes[:, dim] = values
            return self.codes_for_classes(classes)
        return traverse(code, dim, values)

    def interpolate(self, z0: np.ndarray, z1: np.ndarray, steps: int,
                    method: str = "linear") -> np.ndarray:
        """`steps` codes from z0 to z1 (see `interpolation_methods`)."""
        if method not in self.interpolation_methods:
            raise ValueError(f"interpolation must be one of {self.interpolation_methods} for "
                             f"{self.latent_kind} codes, got {method!r}")
        return interpolate(z0, z1, steps, method)

    def classes_of(self, codes: np.ndarray) -> np.ndarray:
        """The most weighted class of every categorical variable: (..., K) int from codes
        (..., K x C)."""
        codes = np.asarray(codes, dtype=np.float64)
        shape = (*codes.shape[:-1], self.latent_dim, self.categorical_classes)
        return codes.reshape(shape).argmax(axis=-1)

    def codes_for_classes(self, classes: np.ndarray) -> np.ndarray:
        """One-hot codes (..., K x C) for the classes (..., K) of the categorical variables."""
        return one_hot_codes(classes, self.categorical_classes)

    def compile_decoder(self, batch_sizes: Iterable[int]) -> CompiledDecoder | None:
        """Start compiling the decoder for these batch sizes in the background (once).

        `decode` uses the compiled kernels for a batch size as soon as it is ready. Returns
        None when compilation is switched off (SHAPE_EXPLORER_COMPILE=0) or the model is not on
        the CPU (the compiled kernels are CPU kernels).
        """
        if (self.compiled is None and compile_enabled() and self.device.type == "cpu"
                and self.kind == "vae"):
            self.model.eval()
            self.compiled = CompiledDecoder(
                self.model, batch_sizes, probabilities=self.config.likelihood == "bernoulli"
            ).start()
        return self.compiled

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent codes (code_dim,) or (B, code_dim) -> grids (D, D, D) or (B, D, D, D) float32.

        Bernoulli models give occupancy probabilities; Gaussian models give the decoded values
        (signed distances for "sdf" grids); PPCA gives W z + m, clipped to [0, 1] as
        probabilities for occupancy grids.
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
        out = self.model.decode(codes.to(self.device)).float()
        if self.kind == "ppca":
            return out if self.signed_distance else out.clamp(0.0, 1.0)
        return torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out


def prior_samples(n: int, latent_dim: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """n codes z ~ N(0, T^2 I), reproducible for a given seed: (n, Q)."""
    if n < 0 or temperature < 0:
        raise ValueError("n and temperature must be non-negative")
    return temperature * np.random.default_rng(seed).standard_normal((n, latent_dim))


def categorical_prior_samples(n: int, variables: int, classes: int, seed: int) -> np.ndarray:
    """n codes of `variables` uniformly drawn classes, one-hot: (n, variables x classes)."""
    if n < 0:
        raise ValueError("n must be non-negative")
    drawn = np.random.default_rng(seed).integers(0, classes, size=(n, variables))
    return one_hot_codes(drawn, classes)


def one_hot_codes(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Class indices (..., K) -> flattened one-hot codes (..., K x C), float64."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise ValueError(f"classes must lie in 0..{n_classes - 1}")
    codes = np.eye(n_classes)[classes]
    return codes.reshape(*classes.shape[:-1], classes.shape[-1] * n_classes)


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
