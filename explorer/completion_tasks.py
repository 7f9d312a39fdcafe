"""The Complete view's work, as plain functions of plain data (Qt-free): scan a shape, complete
the scan with one of METHODS, score it against the truth, train a completion encoder.

These run on background threads. Long ones (``search_live``, ``train_encoder``) take a
``TaskControl``: ``report(value)`` hands a partial result to the caller's thread (throttled by
the caller) and ``stopped()`` says whether a person pressed Stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from explorer.meshing import mesh_from_grid, smooth_mesh
from explorer.session import ExplorerSession
from trainer.completion.amortised import (
    CompletionConfig,
    CompletionEncoder,
    CompletionReport,
    CompletionTrainer,
    amortised_codes,
    completion_path,
)
from trainer.completion.baselines import mean_shape, naive_codes
from trainer.completion.encoder_file import load_encoder, save_completion
from trainer.completion.latent_search import SearchSettings, latent_search
from trainer.completion.likelihood import check_completable
from trainer.completion.metrics import hamming, iou
from trainer.completion.observation import Observation, simulate
from trainer.errors import ShapeExplorerError
from trainer.report import BatchProgress

METHODS = ("aml", "ml", "naive", "mean")
METHOD_NAMES = {"aml": "AML (completion encoder)", "ml": "ML (latent search)",
                "naive": "Naive (the VAE's encoder)", "mean": "Mean training shape"}
LIVE_INTERVAL_S = 0.2
"""A live search shows its best shape at most this often."""
VALIDATION_SHAPES = 100
"""An encoder trained here validates on at most this many validation shapes."""


@dataclass(frozen=True)
class TaskControl:
    """What a long task gets from its caller: ``report(value)`` and ``stopped()``."""

    report: Callable[[Any], None]
    stopped: Callable[[], bool]


@dataclass(frozen=True)
class Completion:
    """A completed shape: the method, its code (None for the mean shape), the decoded
    probability grid, its Taubin-smoothed mesh at 0.5 (None: no surface; smoothed as the
    Explore view's meshes are by default) and, when the truth is known, its IoU and Hamming
    distance to it."""

    method: str
    code: np.ndarray | None
    grid: np.ndarray
    mesh: trimesh.Trimesh | None
    iou: float | None = None
    hamming: float | None = None


@dataclass(frozen=True)
class SearchStep:
    """A live search's progress: the losses of steps 1..len(losses) and its best shape so
    far."""

    losses: tuple[float, ...]
    best: Completion


def check_session(session: ExplorerSession) -> None:
    """Raise ShapeExplorerError unless the session's model can complete shapes."""
    check_completable(session.config, session.kind)


def observe(truth: np.ndarray, kind: str, viewpoint: tuple[float, float],
            seed: int = 0) -> Observation:
    """A simulated observation of the boolean grid ``truth`` (trainer.completion.observation)
    from ``viewpoint`` (azimuth, elevation) in degrees; ``seed`` draws noise and boxes."""
    return simulate(kind, truth, np.random.default_rng(seed), viewpoint=viewpoint)


def scored(session: ExplorerSession, method: str, code: np.ndarray | None,
           truth: np.ndarray | None, grid: np.ndarray | None = None) -> Completion:
    """A Completion of ``code`` (decoded here) or of a given probability ``grid``."""
    if grid is None:
        assert code is not None
        grid = session.decode(np.asarray(code))
    inside = grid > 0.5
    score_iou = score_hamming = None
    if truth is not None:
        score_iou = float(iou(inside[None], truth[None])[0])
        score_hamming = float(hamming(inside[None], truth[None])[0])
    mesh = mesh_from_grid(grid, 0.5)
    return Completion(method, None if code is None else np.asarray(code, dtype=np.float64),
                      grid, None if mesh is None else smooth_mesh(mesh), score_iou,
                      score_hamming)


def complete_at_once(session: ExplorerSession, method: str, observation: Observation,
                     truth: np.ndarray | None, *,
                     encoder: CompletionEncoder | None = None) -> Completion:
    """Complete with 'aml' (needs ``encoder``), 'naive' or 'mean' (the mean shape of the
    session's training split)."""
    if method == "aml":
        if encoder is None:
            raise ShapeExplorerError("there is no completion encoder for this model")
        return scored(session, method, amortised_codes(encoder, [observation])[0], truth)
    if method == "naive":
        return scored(session, method, naive_codes(session.model, [observation])[0], truth)
    if method == "mean":
        return scored(session, method, None, truth,
                      grid=mean_of_data(session).astype(np.float32))
    raise ShapeExplorerError(f"{method!r} does not complete at once; methods: "
                             f"{', '.join(METHODS)}")


def search_live(session: ExplorerSession, observation: Observation, truth: np.ndarray | None,
                settings: SearchSettings, control: TaskControl,
                interval: float = LIVE_INTERVAL_S) -> Completion:
    """ML completion (trainer.completion.latent_search) that reports a SearchStep (the losses
    so far and the best shape, decoded) at most every ``interval`` seconds and at the last
    step; Stop ends the search with the best code so far."""
    losses: list[float] = []
    last = [0.0]

    def on_step(step: int, loss: float, best: np.ndarray) -> bool:
        losses.append(loss)
        now = time.monotonic()
        if now - last[0] >= interval or step == settings.steps:
            last[0] = now
            control.report(SearchStep(tuple(losses), scored(session, "ml", best[0], truth)))
        return not control.stopped()

    code = latent_search(session.model, [observation], settings, on_step=on_step)[0]
    return scored(session, "ml", code, truth)


def mean_of_data(session: ExplorerSession) -> np.ndarray:
    """The boolean mean shape of the session's training split (trainer.completion.baselines)."""
    train, _ = _split(session)
    return mean_shape(train.grids[:, 0] > 0.5)


def encoder_beside(checkpoint: Path | None, session: ExplorerSession
                   ) -> tuple[CompletionEncoder | None, str]:
    """The completion encoder beside ``checkpoint`` (checked to belong to the session's model)
    and a line saying where it came from, or None and a line saying why there is none."""
    if checkpoint is None:
        return None, ("No completion encoder: this model has not been saved. Train one below, "
                      "or complete with ML.")
    path = completion_path(checkpoint)
    if not path.is_file():
        return None, (f"No completion encoder beside {checkpoint.name} ({path.name}). Train one "
                      "below, or complete with ML.")
    return load_encoder(path, session.model), f"Completion encoder: {path.name}"


@dataclass(frozen=True)
class TrainingProgress:
    """A completion-encoder training's progress: the batch just done, and the epochs so
    far."""

    batch: BatchProgress | None
    history: tuple[CompletionReport, ...]


def train_encoder(session: ExplorerSession, config: CompletionConfig,
                  checkpoint: Path | None, control: TaskControl
                  ) -> tuple[CompletionEncoder | None, str]:
    """Train a completion encoder for the session's model on its training split (reporting
    TrainingProgress; Stop ends it after the current batch) and write it beside
    ``checkpoint`` after every epoch when there is one. Returns the encoder of the last
    finished epoch (None: none finished) and a line saying what happened."""
    check_session(session)
    train, val = _split(session)
    val = val.subset(np.arange(min(len(val), VALIDATION_SHAPES)))
    out = completion_path(checkpoint) if checkpoint is not None else None
    trainer: CompletionTrainer

    def on_progress(progress: BatchProgress) -> None:
        if control.stopped():
            trainer.stop()
        control.report(TrainingProgress(progress, tuple(trainer.history)))

    def on_report(_report: CompletionReport) -> None:
        control.report(TrainingProgress(None, tuple(trainer.history)))

    trainer = CompletionTrainer(session.model, config, train, val, on_report=on_report,
                                on_progress=on_progress,
                                save=(lambda state: save_completion(out, state))
                                if out is not None else None)
    finished = trainer.run()
    if trainer.epoch == 0:
        return None, "Stopped before the first epoch ended: no encoder."
    where = f"; wrote {out.name}" if out is not None else \
        " (kept while the app runs: the model has no file to write it beside)"
    return (trainer.state().build_encoder(),
            f"{'Trained' if finished else 'Stopped after'} {trainer.epoch} epoch(s), "
            f"validation IoU {trainer.history[-1].val_iou:.3f}{where}")


def _split(session: ExplorerSession):
    if session.shapes is None:
        raise ShapeExplorerError("the model's data set has not loaded yet; try again in a "
                                 "moment")
    return session.shapes.split(session.config.val_fraction, session.config.seed)
