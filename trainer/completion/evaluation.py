"""The completion table: per observation kind and method, IoU, Hamming distance, accuracy and
completeness (trainer.completion.metrics) of the completions of held-out shapes, and the time
each method took per shape.

Methods: ``prior`` (the VAE's reconstruction of the complete shape: what any completion can
reach at best through this decoder), ``aml`` (the completion encoder), ``ml`` (latent search
from the VAE encoder's code of the partial input and prior samples), ``aml+ml`` (latent search
with the completion encoder's code among its starts), ``naive``, ``mean`` and ``supervised``
(trainer.completion.baselines). A method whose encoder
is not given is left out. Observations are simulated from the held-out shapes with a generator
seeded by ``seed`` (the same for every method).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from trainer.budgets import DECODE_BATCH
from trainer.completion.amortised import CompletionEncoder, amortised_codes
from trainer.completion.baselines import mean_shape, naive_codes
from trainer.completion.latent_search import (
    DEFAULT_SEARCH,
    SearchSettings,
    frozen_copy,
    latent_search,
)
from trainer.completion.metrics import score
from trainer.completion.observation import Observation, simulate

METHODS = ("prior", "aml", "ml", "aml+ml", "naive", "mean", "supervised")
EVALUATED_KINDS = ("single-view", "noisy")
NOISY_FREE_WEIGHT = 0.25
"""Latent search trusts free space this much against surface points on noisy scans."""


@dataclass(frozen=True)
class CompletionRow:
    """One method on one observation kind, averaged over the shapes (accuracy and
    completeness over the shapes whose completion has a surface)."""

    kind: str
    method: str
    shapes: int
    iou: float
    hamming: float
    accuracy: float
    completeness: float
    seconds_per_shape: float
    observed_fraction: float


@dataclass(frozen=True)
class CompletionEvaluation:
    rows: tuple[CompletionRow, ...]
    data: str
    resolution: int

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "resolution": self.resolution,
                "rows": [dataclasses.asdict(r) for r in self.rows]}

    def lines(self) -> list[str]:
        """The table as text, one row per kind and method."""
        out = [f"completion of {self.rows[0].shapes if self.rows else 0} held-out shapes "
               f"({self.data}, {self.resolution}^3); accuracy / completeness in voxels",
               f"{'observation':12} {'method':11} {'IoU':>6} {'Hamming':>8} {'acc.':>6} "
               f"{'compl.':>6} {'s/shape':>8}"]
        for r in self.rows:
            out.append(f"{r.kind:12} {r.method:11} {r.iou:6.3f} {r.hamming:8.4f} "
                       f"{r.accuracy:6.2f} {r.completeness:6.2f} {r.seconds_per_shape:8.3f}")
        return out


Progress = Callable[[str], None]


def evaluate_completion(vae: nn.Module, truth: np.ndarray, *,
                        training_grids: np.ndarray | None = None,
                        aml: CompletionEncoder | None = None,
                        supervised: CompletionEncoder | None = None,
                        kinds: Sequence[str] = EVALUATED_KINDS,
                        methods: Sequence[str] = METHODS,
                        search: SearchSettings = DEFAULT_SEARCH, seed: int = 0,
                        surfaces: bool = True, data: str = "",
                        progress: Progress | None = None) -> CompletionEvaluation:
    """The completion table (module docstring) of boolean held-out grids ``truth``
    (N, D, D, D); ``training_grids`` give the mean shape (left out without them)."""
    truth = np.asarray(truth, dtype=bool)
    decoder = frozen_copy(vae)
    available = {"aml": aml is not None, "aml+ml": aml is not None,
                 "supervised": supervised is not None,
                 "mean": training_grids is not None}
    chosen = [m for m in methods if available.get(m, True)]
    mean = mean_shape(training_grids) if training_grids is not None else None
    rows = []
    prior_rows: dict[str, CompletionRow] = {}
    for kind in kinds:
        rng = np.random.default_rng(seed)
        observations = [simulate(kind, g, rng) for g in truth]
        fraction = float(np.mean([o.observed_fraction for o in observations]))
        for method in chosen:
            if progress is not None:
                progress(f"{kind}: {method}")
            if method == "prior" and prior_rows:
                rows.append(dataclasses.replace(next(iter(prior_rows.values())), kind=kind,
                                                observed_fraction=fraction))
                continue
            start = time.perf_counter()
            if method == "mean":
                predicted = np.repeat(mean[None], len(truth), axis=0)
            else:
                codes = _codes(method, vae, observations, truth, aml, supervised,
                               _search_for(kind, search))
                predicted = _decode(decoder, codes)
            seconds = (time.perf_counter() - start) / max(len(truth), 1)
            s = score(predicted, truth, surfaces=surfaces)
            row = CompletionRow(kind, method, len(truth), float(s.iou.mean()),
                                float(s.hamming.mean()), _mean(s.accuracy),
                                _mean(s.completeness), seconds, fraction)
            if method == "prior":
                prior_rows[kind] = row
            rows.append(row)
    return CompletionEvaluation(tuple(rows), data, truth.shape[-1])


def _codes(method: str, vae: nn.Module, observations: list[Observation], truth: np.ndarray,
           aml: CompletionEncoder | None, supervised: CompletionEncoder | None,
           search: SearchSettings) -> np.ndarray:
    if method == "prior":
        return _posterior_means(vae, truth)
    if method == "aml" and aml is not None:
        return amortised_codes(aml, observations)
    if method == "supervised" and supervised is not None:
        return amortised_codes(supervised, observations)
    if method == "naive":
        return naive_codes(vae, observations)
    if method == "ml":
        return latent_search(vae, observations, search)
    if method == "aml+ml" and aml is not None:
        return latent_search(vae, observations, search,
                             initial_codes=amortised_codes(aml, observations)[:, None])
    raise ValueError(f"unknown completion method {method!r}; known: {', '.join(METHODS)}")


def _search_for(kind: str, search: SearchSettings) -> SearchSettings:
    """Latent search settings for an observation kind (noisy scans trust free space less)."""
    if kind == "noisy":
        return dataclasses.replace(search, free_weight=NOISY_FREE_WEIGHT * search.free_weight)
    return search


@torch.no_grad()
def _posterior_means(vae: nn.Module, grids: np.ndarray) -> np.ndarray:
    vae.eval()
    out = [vae.encode(torch.from_numpy(grids[i:i + DECODE_BATCH, None].astype(np.float32)))[0]
           for i in range(0, len(grids), DECODE_BATCH)]
    return torch.cat(out).double().numpy()


@torch.no_grad()
def _decode(decoder: nn.Module, codes: np.ndarray) -> np.ndarray:
    """Boolean grids (N, D, D, D) of codes (N, Q): inside where the probability is above 0.5."""
    z = torch.from_numpy(np.asarray(codes, dtype=np.float32))
    out = [(decoder.decode(z[i:i + DECODE_BATCH]) > 0).numpy()[:, 0]
           for i in range(0, len(z), DECODE_BATCH)]
    return np.concatenate(out)


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")
