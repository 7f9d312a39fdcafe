"""How well a model reconstructs a set of shapes, and how much its prior samples look like them.

Reconstruction: the grid decoded from each shape's code (posterior mean, or mode for
categorical codes; optionally refined into the shape's most probable code,
trainer.code_refinement), inside at the model's iso-level, scored by IoU and normalised Hamming
distance against the shape, overall and per class.

Generation (Achlioptas et al. 2018; Yang et al. 2019), with 1 - IoU as the distance between
two voxel grids, for a set S of prior samples against a reference set R of shapes:
- MMD: the mean over reference shapes of the distance to the closest sample (lower is better);
- COV: the share of reference shapes that are the nearest reference shape of some sample
  (higher is better, 1 at most);
- 1-NNA: the leave-one-out accuracy of a 1-nearest-neighbour classifier telling samples from
  reference shapes in S u R (0.5 is ideal: the two sets cannot be told apart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from trainer.checkpoint import Checkpoint
from trainer.code_density import FittedMixture
from trainer.code_refinement import check_refinable, refine_codes
from trainer.data.shapeset import ShapeSet
from trainer.errors import DataError
from trainer.families import LatentFamily, family_of
from trainer.grid_values import grid_values

BATCH = 32
SPECK_SHARE = 0.001
"""A sample with fewer inside voxels than this share of the grid (empty ones included) is a
speck: too small to be a shape."""
DISTANCE_ROWS = 256
"""Rows of the distance matrix computed at once (bounds the memory of the products)."""
Progress = Callable[[int, int], None]
"""progress(steps done, steps in all): a batch decoded, or the scores computed."""


class EvaluationCancelled(Exception):
    """The evaluation was stopped through its ``cancel`` callback."""


@dataclass(frozen=True)
class GenerativeScores:
    sampler: str
    mmd: float
    cov: float
    nna: float
    empty_samples: int
    speck_samples: int
    samples: int
    reference: int


@dataclass(frozen=True)
class ClassScores:
    name: str
    shapes: int
    iou: float
    hamming: float


@dataclass(frozen=True)
class Evaluation:
    """Reconstruction scores overall and per class, and the prior samples' scores."""

    shapes: int
    iou: float
    hamming: float
    classes: tuple[ClassScores, ...]
    generation: GenerativeScores | None
    refine_steps: int = 0
    """Steps of code refinement after the encoder (0: the encoder's codes)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as text, a table row per class."""
        codes = (f" (codes refined by {self.refine_steps} steps)" if self.refine_steps
                 else "")
        out = [f"reconstruction of {self.shapes} shapes{codes}: IoU {self.iou:.3f}, "
               f"Hamming {self.hamming:.4f}", f"  {'class':20} {'shapes':>7} {'IoU':>7} "
               f"{'Hamming':>8}"]
        out += [f"  {c.name[:20]:20} {c.shapes:7d} {c.iou:7.3f} {c.hamming:8.4f}"
                for c in self.classes]
        g = self.generation
        if g is not None:
            source = "prior" if g.sampler == "prior" else "fitted-density"
            out.append(f"{g.samples} {source} samples against {g.reference} shapes: MMD "
                       f"{g.mmd:.3f}, COV {g.cov:.3f}, 1-NNA {g.nna:.3f}, {g.empty_samples} "
                       f"empty, {g.speck_samples} under {SPECK_SHARE:.1%} of the voxels")
        return out


def iou_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - IoU between every grid of ``a`` (N, ...) and of ``b`` (M, ...), boolean: (N, M).

    Two empty grids are at distance 0."""
    x = torch.from_numpy(np.ascontiguousarray(a.reshape(len(a), -1), dtype=np.float32))
    y = torch.from_numpy(np.ascontiguousarray(b.reshape(len(b), -1), dtype=np.float32))
    sx, sy = x.sum(1), y.sum(1)
    out = np.empty((len(a), len(b)), dtype=np.float64)
    for start in range(0, len(a), DISTANCE_ROWS):
        rows = slice(start, start + DISTANCE_ROWS)
        inter = (x[rows] @ y.T).double()
        union = sx[rows, None].double() + sy[None].double() - inter
        iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
        out[rows] = (1 - iou).numpy()
    return out


def generative_scores(samples: np.ndarray, reference: np.ndarray,
                      sampler: str = "prior") -> GenerativeScores:
    """MMD, COV and 1-NNA (module docstring) of boolean sample grids against reference grids."""
    if len(samples) == 0 or len(reference) == 0:
        raise ValueError("generative scores need at least one sample and one reference shape")
    sr = iou_distances(samples, reference)
    ss = iou_distances(samples, samples)
    rr = iou_distances(reference, reference)
    mmd = float(sr.min(axis=0).mean())
    cov = len(np.unique(sr.argmin(axis=1))) / len(reference)
    n, m = len(samples), len(reference)
    full = np.block([[ss, sr], [sr.T, rr]])
    np.fill_diagonal(full, np.inf)                      # leave one out
    nearest = full.argmin(axis=1)
    is_sample = np.arange(n + m) < n
    nna = float((is_sample[nearest] == is_sample).mean())
    inside = samples.reshape(n, -1).sum(1)
    empty = int((inside == 0).sum())
    specks = int((inside < SPECK_SHARE * samples[0].size).sum())
    return GenerativeScores(sampler, mmd, cov, nna, empty, specks, n, m)


@torch.no_grad()
def evaluate(ckpt: Checkpoint, shapes: ShapeSet, samples: int = 500, seed: int = 0,
             fit_to: ShapeSet | None = None, *, refine: int = 0,
             progress: Progress | None = None,
             cancel: Callable[[], bool] | None = None) -> Evaluation:
    """Score the checkpoint's model on ``shapes``, and ``samples`` generated codes (drawn at
    ``seed``; 0: none) against them: prior samples, or with ``fit_to`` samples of a mixture of
    one Gaussian per class fitted to the codes of those (training) shapes
    (trainer.code_density). With ``refine`` > 0 the reconstructions decode codes refined by
    that many steps (trainer.code_refinement; occupancy VAEs with Gaussian codes).

    ``progress(done, total)`` follows every batch; ``cancel()`` is polled before every batch
    and stops the evaluation (EvaluationCancelled) when it returns True."""
    _check_shapes(ckpt, shapes)
    check_refinable(ckpt.config, ckpt.kind, refine)
    total = -(-len(shapes) // BATCH) + (-(-samples // BATCH) + 1 if samples > 0 else 0)
    done = 0

    def step() -> None:
        """Poll ``cancel``, then report the steps finished so far."""
        nonlocal done
        if cancel is not None and cancel():
            raise EvaluationCancelled("evaluation cancelled")
        if progress is not None and done:
            progress(done, total)
        done += 1

    model = ckpt.build_model()
    family = family_of(ckpt.config, ckpt.kind)
    values = grid_values(ckpt.config, ckpt.kind)
    truth_all, decoded_all = [], []
    for start in range(0, len(shapes), BATCH):
        step()
        y = torch.from_numpy(shapes.grids[start:start + BATCH]).float()
        truth_all.append(values.inside(y).numpy())
        if refine:
            code = torch.from_numpy(refine_codes(model, truth_all[-1][:, 0], refine)).float()
        else:
            code = family.codes(family.posterior(model, y))
        decoded_all.append(values.inside(values.activate(model.decode(code).float())).numpy())
    truth, decoded = np.concatenate(truth_all)[:, 0], np.concatenate(decoded_all)[:, 0]
    iou, hamming = _iou_and_hamming(decoded, truth)
    classes = tuple(
        ClassScores(name, int(members.sum()), float(iou[members].mean()),
                    float(hamming[members].mean()))
        for k, name in enumerate(shapes.class_names)
        if (members := shapes.labels == k).any())
    generation = None
    if samples > 0:
        drawn = []
        if fit_to is None:
            generated = family.prior_samples(samples, seed)
        else:
            if family.editor != "slider":
                raise ValueError(f"a fitted density needs Gaussian codes, not {family.label}")
            density = FittedMixture.fit(_codes(model, family, fit_to.grids), fit_to.labels)
            generated = density.sample(samples, seed)
        codes = torch.from_numpy(generated).float()
        for start in range(0, samples, BATCH):
            step()
            out = values.activate(model.decode(codes[start:start + BATCH]).float())
            drawn.append(values.inside(out).numpy()[:, 0])
        step()
        generation = generative_scores(np.concatenate(drawn), truth,
                                       "prior" if fit_to is None else "fitted")
    step()
    return Evaluation(len(shapes), float(iou.mean()), float(hamming.mean()), classes, generation,
                      refine)


def _check_shapes(ckpt: Checkpoint, shapes: ShapeSet) -> None:
    """DataError unless ``shapes`` are grids of the model's resolution and kind."""
    resolution = ckpt.config.resolution
    if len(shapes) == 0:
        raise DataError("there are no shapes to score the model on")
    if shapes.resolution != resolution:
        raise DataError(f"the model works on {resolution}^3 grids, the shapes are "
                        f"{shapes.resolution}^3: import them at {resolution}^3")
    signed = ckpt.config.grid == "sdf"
    if shapes.signed != signed:
        want, have = ("signed distances", "occupancy grids") if signed else \
            ("occupancy grids", "signed distances")
        raise DataError(f"the model works on {want}, the shapes are {have}")


@torch.no_grad()
def _codes(model: torch.nn.Module, family: LatentFamily, grids: np.ndarray) -> np.ndarray:
    """The codes (posterior means, or modes) of grids (N, 1, D, D, D): (N, code width)."""
    out = [family.codes(family.posterior(model, torch.from_numpy(grids[i:i + BATCH]).float()))
           for i in range(0, len(grids), BATCH)]
    return torch.cat(out).double().numpy()


def _iou_and_hamming(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-shape IoU (two empty grids: 1) and Hamming distance of boolean grids."""
    p, t = prediction.reshape(len(prediction), -1), truth.reshape(len(truth), -1)
    inter, union = (p & t).sum(1), (p | t).sum(1)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return iou, (p ^ t).mean(1)
