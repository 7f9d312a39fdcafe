"""A loaded model ready to explore: encode, sample the prior, traverse, interpolate, decode.

What differs between kinds of codes (Gaussian, with pose dimensions, categorical, PPCA) is the
model's latent family (trainer.families); what decoded values mean (probabilities meshed at 0.5,
signed distances meshed at 0) is its trainer.grid_values.GridValues.

Qt-free. Decoding runs in eval mode without gradients on a private copy of the weights, so a
session never touches a model that is still training.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.fast_decode import CompiledDecoder, compile_enabled
from trainer.checkpoint import Checkpoint, Model, load_checkpoint
from trainer.code_density import FittedMixture
from trainer.code_refinement import check_refinable, refine_codes, refusal
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.device import resolve_device
from trainer.families import (
    INTERPOLATIONS,
    LatentFamily,
    family_of,
    interpolate,
    one_hot_codes,
    prior_samples,
    traverse,
)
from trainer.grid_values import GridValues, grid_values
from trainer.perf import MEMORY_FORMAT
from trainer.ppca import PPCAReport
from trainer.report import EpochReport

ENCODE_BATCH = 64
"""Shapes encoded at once when fitting a density to the data set's codes."""

__all__ = ["INTERPOLATIONS", "ExplorerSession", "interpolate", "one_hot_codes", "prior_samples",
           "traverse"]


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

    def __post_init__(self) -> None:
        self._density: FittedMixture | None = None
        self.family: LatentFamily = family_of(self.config, self.kind)
        self.grid: GridValues = grid_values(self.config, self.kind)

    @property
    def latent_dim(self) -> int:
        """Q latent dimensions, or K categorical variables (one slider / class picker each)."""
        return self.config.latent_dim

    @property
    def code_dim(self) -> int:
        """Width of the codes `decode` takes: Q, or K x C."""
        return self.family.code_dim

    @property
    def pose_dims(self) -> int:
        """Leading code dimensions that hold the shape's pose (trainer.pose); 0 for none."""
        return self.family.pose_dims

    @property
    def signed_distance(self) -> bool:
        """Whether grids are signed distances (negative inside) instead of probabilities."""
        return self.grid.signed_distance

    @property
    def iso_level(self) -> float:
        """The default surface level: 0.5 for probabilities, 0 for signed distances."""
        return self.grid.iso_level

    @property
    def inside_low(self) -> bool:
        """Pass to meshing.mesh_from_grid: inside is below the level (signed distances)."""
        return self.grid.inside_low

    @property
    def value_range(self) -> tuple[float, float]:
        """The range of decoded values a threshold may lie in (exclusive)."""
        return self.grid.value_range

    @property
    def interpolation_methods(self) -> tuple[str, ...]:
        return self.family.interpolations

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

    def unit_measures(self) -> np.ndarray:
        """The family's measure per dimension or variable (validation Var(mu_d), or I(y; z_k)
        in nats) from the last epoch or the PPCA fit; NaN where unknown."""
        if self.ppca is not None:
            return np.asarray(self.ppca.mu_var_per_dim, dtype=np.float64)
        last = self.history[-1] if self.history else None
        return self.family.measure.values(last, self.latent_dim)

    @property
    def can_refine(self) -> bool:
        """Whether `encode` can refine codes (trainer.code_refinement: occupancy VAEs with
        Gaussian codes)."""
        return refusal(self.config, self.kind) is None

    @torch.no_grad()
    def encode(self, grids: np.ndarray, refine: int = 0) -> np.ndarray:
        """Grids (B, 1, D, D, D) or (B, D, D, D) -> codes (B, code_dim): the posterior means,
        or for categorical codes the most probable class of each variable, one-hot; with
        ``refine`` > 0 each shape's most probable code, found by that many steps of latent
        search from its posterior mean (on the CPU; see `can_refine`)."""
        y = torch.as_tensor(np.asarray(grids, dtype=np.float32))
        if y.ndim == 4:
            y = y.unsqueeze(1)
        if refine:
            check_refinable(self.config, self.kind, refine)
            model = self.model if self.device.type == "cpu" else copy.deepcopy(self.model).cpu()
            return refine_codes(model, y[:, 0].numpy() > 0.5, refine)
        self.model.eval()
        y = y.to(self.device).contiguous(memory_format=MEMORY_FORMAT)
        posterior = self.family.posterior(self.model, y)
        return self.family.codes(posterior).cpu().numpy().astype(np.float64)

    def prior_samples(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes from the family's prior, reproducible for a seed: (n, code_dim)."""
        return self.family.prior_samples(n, seed, temperature)

    @property
    def can_fit_density(self) -> bool:
        """Whether `fitted_samples` can draw: Gaussian codes and a data set to fit to."""
        return self.family.editor == "slider" and self.shapes is not None \
            and len(self.shapes) >= 2

    def fitted_samples(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes of a Gaussian per class fitted to the codes of the data set's training split
        (trainer.code_density; fitted once, on the first call: slow, call off the GUI thread),
        reproducible for a seed: (n, code_dim)."""
        if self._density is None:
            if not self.can_fit_density:
                raise ValueError("fitting a density needs Gaussian codes and the data set")
            assert self.shapes is not None
            train, _ = self.shapes.split(self.config.val_fraction, self.config.seed)
            shapes = train if len(train) >= 2 else self.shapes
            codes = np.concatenate([self.encode(shapes.grids[i:i + ENCODE_BATCH])
                                    for i in range(0, len(shapes), ENCODE_BATCH)])
            self._density = FittedMixture.fit(codes, shapes.labels)
        return self._density.sample(n, seed, temperature)

    def traverse(self, code: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
        """Copies of `code` with dimension (or variable) `dim` set to each of `values`."""
        return self.family.traverse(code, dim, values)

    def interpolate(self, z0: np.ndarray, z1: np.ndarray, steps: int,
                    method: str = "linear") -> np.ndarray:
        """`steps` codes from z0 to z1 (see `interpolation_methods`)."""
        return self.family.interpolate(z0, z1, steps, method)

    def compile_decoder(self, batch_sizes: Iterable[int]) -> CompiledDecoder | None:
        """Start compiling the decoder for these batch sizes in the background (once).

        `decode` uses the compiled kernels for a batch size as soon as it is ready. Returns
        None when compilation is switched off (SHAPE_EXPLORER_COMPILE=0) or the model is not on
        the CPU (the compiled kernels are CPU kernels).
        """
        if (self.compiled is None and compile_enabled() and self.device.type == "cpu"
                and self.kind == "vae"):
            self.model.eval()
            self.compiled = CompiledDecoder(self.model, batch_sizes, self.grid).start()
        return self.compiled

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent codes (code_dim,) or (B, code_dim) -> grids (D, D, D) or (B, D, D, D) float32.

        The values are what `grid` says: occupancy probabilities, raw decoded values or signed
        distances.
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
        return self.grid.activate(self.model.decode(codes.to(self.device)).float())
