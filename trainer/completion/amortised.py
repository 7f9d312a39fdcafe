"""Amortised maximum likelihood (AML): an encoder that maps a partial observation straight to a
latent code of a frozen VAE.

The completion encoder sees two channels, the occupied and the free voxels, and predicts a
Gaussian q(z | observation). It trains on observations simulated from the training shapes
(kinds drawn per shape from ``kinds``) with the observed-voxels-only likelihood through the
VAE's frozen decoder plus ``kl_weight`` x KL(q || N(0, I)): no complete shape enters the loss,
the weak supervision of the method. With ``prior_weight`` every batch also holds
PRIOR_SCANS_PER_SHAPE times as many scans of shapes drawn from the VAE's prior
(trainer.completion.prior_observations), whose codes the encoder regresses: the prior's
knowledge, still no complete training shape; the first ``prior_share`` of the epochs train on
those alone.
``target="complete"`` scores the decoded code against the complete shape instead: the
*supervised* baseline, an upper bound that needs complete shapes. Validation scores the
posterior mean's IoU against the complete validation shapes (monitoring only; never a training
signal). The pool of prior samples is drawn once per run from the seed (again on resume).

`CompletionTrainer` runs like trainer.loop.Trainer: per-epoch reports and per-batch progress
callbacks on the calling thread, pause / resume / stop from any thread (between batches), a
checkpoint after every epoch and exact resume (the order, observations and noise of an epoch
are drawn from generators seeded by the seed and the epoch).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainer.budgets import DECODE_BATCH
from trainer.completion.latent_search import frozen_copy
from trainer.completion.likelihood import observed_nll
from trainer.completion.metrics import iou
from trainer.completion.observation import OBSERVATION_KINDS, Observation, simulate
from trainer.completion.prior_observations import (
    PriorObservations,
    code_regression_loss,
    draw_prior_observations,
    pool_size,
)
from trainer.data.shapeset import ShapeSet
from trainer.errors import ConfigError, TrainingError
from trainer.objective import kl_to_standard_normal
from trainer.perf import MEMORY_FORMAT
from trainer.pose import POSE_DIMS, pose_code, pose_from_code, principal_pose, to_shape_frame
from trainer.report import BatchProgress
from trainer.run_control import PausableClock, RunControl
from trainer.schedules import lr_at

TARGETS = ("observed", "complete")
PRIOR_SCANS_PER_SHAPE = 2
"""Scans of prior samples in a batch per training shape in it."""
FRAMES = ("observed", "grid")


@dataclass(frozen=True)
class CompletionConfig:
    """The settings of a completion encoder's training."""

    epochs: int = 10
    batch_size: int = 16
    lr: float = 2e-3
    """The peak learning rate; it warms up and decays along a cosine over the run
    (trainer.schedules.lr_at)."""
    kl_weight: float = 2.0
    free_weight: float = 0.5
    """Free voxels count this much against occupied ones (free space of noisy scans is less
    sure than their surface points)."""
    kinds: tuple[str, ...] = OBSERVATION_KINDS
    channels: tuple[int, ...] = (8, 16, 32, 64)
    target: str = "observed"
    frame: str = "observed"
    """Pose-aware VAEs: 'observed' encodes the observation in the frame of its occupied voxels'
    principal axes and predicts the pose relative to that frame (CompletionEncoder); 'grid'
    predicts the pose in the grid's frame. Other VAEs always use 'grid'."""
    shapes: int = 0
    """Train on at most this many of the training shapes (0: all)."""
    prior_weight: float = 30.0
    """Weight of the regression of drawn codes from scans of prior samples (0: none)."""
    prior_pool: int = 8192
    """Scans of prior samples drawn once per run (capped by prior_observations.POOL_BYTES)."""
    prior_share: float = 0.5
    """With prior samples, the first floor(prior_share x epochs) epochs train on them alone
    (their regression); the observed-voxels likelihood and the KL join after: from a random
    start the likelihood leads the encoder into poor optima (benchmarks/README.md)."""
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        problems = []
        if not 1 <= self.epochs <= 10_000:
            problems.append("epochs must be 1..10000")
        if not 2 <= self.batch_size <= 1024:
            problems.append("batch_size must be 2..1024")
        for name in ("lr", "kl_weight", "free_weight", "prior_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0) or (name == "lr" and value == 0):
                problems.append(f"{name} must be a finite number >= 0 (lr > 0)")
        if not self.kinds or any(k not in OBSERVATION_KINDS for k in self.kinds):
            problems.append(f"kinds must be some of {', '.join(OBSERVATION_KINDS)}")
        if len(self.channels) != 4 or not all(1 <= c <= 512 for c in self.channels):
            problems.append("channels must be 4 numbers 1..512")
        if self.target not in TARGETS:
            problems.append(f"target must be one of {', '.join(TARGETS)}")
        if self.frame not in FRAMES:
            problems.append(f"frame must be one of {', '.join(FRAMES)}")
        if self.shapes < 0:
            problems.append("shapes must be >= 0")
        if not 0 <= self.prior_pool <= 1_000_000:
            problems.append("prior_pool must be 0..1000000")
        if not 0 <= self.prior_share < 1:
            problems.append("prior_share must be at least 0 and below 1")
        if problems:
            raise ConfigError("completion settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["kinds"], values["channels"] = list(self.kinds), list(self.channels)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CompletionConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown completion settings: {', '.join(unknown)}")
        return cls(**values)

    def with_overrides(self, **changes: Any) -> CompletionConfig:
        """A copy with the given settings changed (None values are left out)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


class CompletionEncoder(nn.Module):
    """4 x (Conv3d 3^3 + BatchNorm + ReLU + MaxPool 2) on (occupied, free) grids, then linear
    heads for the mean and log-variance of a code of ``code_dim``.

    With ``observed_frame`` (for a pose-aware VAE, trainer.pose) the network sees the
    observation resampled into the frame of its occupied voxels' principal axes and centroid,
    as the VAE's own encoder sees a complete shape, and the first POSE_DIMS outputs are the
    pose relative to that frame (zero: the frame itself); the code holds the composed pose.
    Random turns then barely change what the network sees, and a partial scan's principal
    axes are often close to the whole shape's.
    """

    def __init__(self, resolution: int, code_dim: int, channels: tuple[int, ...],
                 observed_frame: bool = False) -> None:
        super().__init__()
        self.resolution, self.code_dim, self.channels = resolution, code_dim, tuple(channels)
        self.observed_frame = observed_frame
        layers: list[nn.Module] = []
        for c_in, c_out in zip((2, *channels[:-1]), channels, strict=True):
            layers += [nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out),
                       nn.ReLU(inplace=True), nn.MaxPool3d(2)]
        self.features = nn.Sequential(*layers, nn.Flatten())
        flat = channels[-1] * (resolution // 16) ** 3
        self.to_mu = nn.Linear(flat, code_dim)
        self.to_logvar = nn.Linear(flat, code_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2, D, D, D) -> (mu, logvar), each (B, code_dim)."""
        if not self.observed_frame:
            h = self.features(x)
            return self.to_mu(h), self.to_logvar(h)
        with torch.no_grad():
            rotation, centroid = principal_pose(x[:, :1])
            aligned = to_shape_frame(x, rotation, centroid)
        h = self.features(aligned.contiguous(memory_format=MEMORY_FORMAT))
        raw = self.to_mu(h)
        turn, shift = pose_from_code(raw[:, :POSE_DIMS] + _IDENTITY_POSE.to(raw))
        pose = pose_code(rotation @ turn, centroid + (rotation @ shift[:, :, None])[:, :, 0])
        return torch.cat([pose, raw[:, POSE_DIMS:]], 1), self.to_logvar(h)


_IDENTITY_POSE = pose_code(torch.eye(3)[None], torch.zeros(1, 3))[0]
"""The pose code of no turn and no shift."""


def observation_channels(observations: Sequence[Observation]) -> torch.Tensor:
    """The encoder's input: (N, 2, D, D, D) float32 of occupied and free voxels,
    channels-last."""
    stacked = np.stack([np.stack([o.occupied, o.free]) for o in observations])
    return torch.from_numpy(stacked.astype(np.float32)).contiguous(memory_format=MEMORY_FORMAT)


@torch.no_grad()
def amortised_codes(encoder: CompletionEncoder,
                    observations: Sequence[Observation]) -> np.ndarray:
    """The completion encoder's codes (posterior means) of observations: (N, Q) float64."""
    encoder.eval()
    out = [encoder(observation_channels(observations[i:i + DECODE_BATCH * 4]))[0]
           for i in range(0, len(observations), DECODE_BATCH * 4)]
    return torch.cat(out).double().numpy() if out else np.zeros((0, encoder.code_dim))


@dataclass(frozen=True)
class CompletionReport:
    """One epoch of completion-encoder training, plain floats (safe across threads)."""

    epoch: int
    train_loss: float
    train_nll: float
    train_kl: float
    val_loss: float
    val_iou: float
    val_hamming: float
    lr: float
    samples_per_s: float
    elapsed_s: float
    train_prior: float = 0.0
    """Mean regression loss per scan of a prior sample (0 without them)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CompletionReport:
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)
                      if f.name in values or f.default is dataclasses.MISSING})


@dataclass
class CompletionState:
    """A completion encoder with what it takes to use and resume it."""

    config: CompletionConfig
    resolution: int
    code_dim: int
    model_state: dict[str, torch.Tensor]
    decoder_fingerprint: str
    epoch: int = 0
    history: list[CompletionReport] = field(default_factory=list)
    optimizer_state: dict[str, Any] | None = None

    def build_encoder(self) -> CompletionEncoder:
        encoder = CompletionEncoder(self.resolution, self.code_dim, self.config.channels,
                                    self.config.frame == "observed")
        encoder.load_state_dict(self.model_state)
        return encoder.eval().to(memory_format=MEMORY_FORMAT)


ReportCallback = Callable[[CompletionReport], None]
ProgressCallback = Callable[[BatchProgress], None]


class CompletionTrainer(RunControl):
    """Trains a completion encoder for a frozen VAE ``vae`` (module docstring)."""

    def __init__(self, vae: nn.Module, config: CompletionConfig, train: ShapeSet,
                 val: ShapeSet, *, on_report: ReportCallback | None = None,
                 on_progress: ProgressCallback | None = None,
                 save: Callable[[CompletionState], object] | None = None,
                 resume_from: CompletionState | None = None) -> None:
        if len(train) < 2 or len(val) < 1:
            raise TrainingError("a completion encoder needs at least 2 training shapes and 1 "
                                "validation shape")
        self.decoder = frozen_copy(vae)
        self.fingerprint = decoder_fingerprint(vae)
        if not getattr(vae, "pose", False):
            config = dataclasses.replace(config, frame="grid")
        self.config = config
        torch.manual_seed(config.seed)
        self.encoder = CompletionEncoder(train.resolution, vae.latent_dim, config.channels,
                                         config.frame == "observed")
        self.encoder.to(memory_format=MEMORY_FORMAT)
        self.optimizer = torch.optim.Adam(self.encoder.parameters(), lr=config.lr)
        limit = config.shapes or len(train)
        self.train_grids = train.grids[:limit, 0] > 0.5
        self.val_grids = val.grids[:, 0] > 0.5
        self.on_report, self.on_progress, self.save = on_report, on_progress, save
        self._pose = bool(getattr(vae, "pose", False))
        self._prior: PriorObservations | None = None
        self.history: list[CompletionReport] = []
        self.epoch = 0
        RunControl.__init__(self)
        if resume_from is not None:
            self._restore(resume_from)
        self._val_observations = self._observations(
            self.val_grids, np.random.default_rng([config.seed, 1_000_003]))

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> bool:
        """Train up to ``config.epochs``; True when finished, False when stopped early."""
        elapsed_before = self.history[-1].elapsed_s if self.history else 0.0
        clock = PausableClock()
        if self.config.prior_weight > 0 and self.config.prior_pool > 0 and self._prior is None:
            self._prior = self._draw_prior(clock, elapsed_before)
            if self._prior is None:
                return False
        for epoch in range(self.epoch + 1, self.config.epochs + 1):
            totals = self._train_epoch(epoch, clock, elapsed_before)
            if totals is None:
                return False
            report = self._validate(epoch, totals, elapsed_before + clock.elapsed())
            if report is None:
                return False
            self.history.append(report)
            self.epoch = epoch
            if self.save is not None:
                self.save(self.state())
            if self.on_report is not None:
                self.on_report(report)
        return True

    def _draw_prior(self, clock: PausableClock,
                    elapsed_before: float) -> PriorObservations | None:
        """The run's scans of prior samples, drawn as "epoch 0" (its progress reports count
        them, with a NaN loss); None when stopped meanwhile."""

        def keep_going(done: int, count: int) -> bool:
            if self.on_progress is not None:
                self.on_progress(BatchProgress(0, done, count, math.nan,
                                               elapsed_before + clock.elapsed()))
            return not self._stop.is_set()

        return draw_prior_observations(
            self.decoder, pool_size(self.config.prior_pool, self.encoder.resolution),
            self.config.kinds, self.encoder.resolution, self.config.seed, pose=self._pose,
            keep_going=keep_going)

    def _train_epoch(self, epoch: int, clock: PausableClock,
                     elapsed_before: float) -> tuple[float, float, float, float, float] | None:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed * 7919 + epoch)
        rng = np.random.default_rng([cfg.seed, epoch])
        order = torch.randperm(len(self.train_grids), generator=generator).numpy()
        batches = [b for b in np.array_split(order, max(1, len(order) // cfg.batch_size))
                   if len(b) >= 2]
        prior_order = rng.permutation(len(self._prior)) if self._prior else np.zeros(0, int)
        prior_only = epoch <= int(cfg.prior_share * cfg.epochs) and len(prior_order) > 0
        self.encoder.train()
        sums = np.zeros(4)
        seen = 0
        began = clock.elapsed()
        for i, batch in enumerate(batches):
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(cfg.lr, (epoch - 1) * len(batches) + i,
                                    cfg.epochs * len(batches))
            if not self._running.is_set():
                clock.pause()
                self._running.wait()
                clock.resume()
            if self._stop.is_set():
                return None
            truth = self.train_grids[batch]
            observations = [] if prior_only else self._observations(truth, rng)
            eps = torch.randn((len(batch), self.encoder.code_dim), generator=generator)
            per_batch = PRIOR_SCANS_PER_SHAPE * cfg.batch_size
            drawn = (np.take(prior_order, np.arange(i * per_batch, (i + 1) * per_batch),
                             mode="wrap") if len(prior_order) else None)
            loss, nll, kl, prior = self._loss(observations, truth, eps, drawn)
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingError(f"completion training stopped: the loss became {value} in "
                                    f"epoch {epoch}, batch {i + 1} (try a lower learning rate)")
            self.optimizer.zero_grad(set_to_none=True)
            (loss / len(batch)).backward()
            self.optimizer.step()
            sums += np.array([value, nll.item(), kl.item(), prior.item()])
            seen += len(batch)
            if self.on_progress is not None:
                self.on_progress(BatchProgress(
                    epoch, i + 1, len(batches), value / len(batch),
                    elapsed_before + clock.elapsed()))
        rate = seen / max(clock.elapsed() - began, 1e-9)
        loss, nll, kl, prior = (float(v) for v in sums / max(seen, 1))
        return loss, nll, kl, prior / PRIOR_SCANS_PER_SHAPE, rate

    def _loss(self, observations: list[Observation], truth: np.ndarray, eps: torch.Tensor,
              drawn: np.ndarray | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Summed loss, likelihood, KL and prior-sample regression terms of a batch; the
        scans of prior samples at ``drawn`` share the encoder's forward pass."""
        n = len(observations)
        parts = [observation_channels(observations)] if n else []
        if self._prior is not None and drawn is not None and len(drawn):
            parts.append(self._prior.channels(drawn))
        mu, logvar = self.encoder(torch.cat(parts).contiguous(memory_format=MEMORY_FORMAT))
        prior = torch.zeros(())
        if len(mu) > n:
            prior = code_regression_loss(mu[n:], self._prior.codes[drawn], self._pose).sum()
            mu, logvar = mu[:n], logvar[:n]
        if n == 0:
            return self.config.prior_weight * prior, torch.zeros(()), torch.zeros(()), prior
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decoder.decode(z)
        if self.config.target == "complete":
            occupied = torch.from_numpy(truth[:, None])
            nll = observed_nll(logits, occupied, ~occupied)
        else:
            occupied, free = (torch.from_numpy(np.stack([getattr(o, part) for o in observations])
                                               [:, None]) for part in ("occupied", "free"))
            nll = observed_nll(logits, occupied, free, self.config.free_weight)
        kl = kl_to_standard_normal(mu, logvar)
        loss = nll.sum() + self.config.kl_weight * kl.sum() + self.config.prior_weight * prior
        return loss, nll.sum(), kl.sum(), prior

    @torch.no_grad()
    def _validate(self, epoch: int, totals: tuple[float, float, float, float, float],
                  elapsed: float) -> CompletionReport | None:
        self.encoder.eval()
        losses, ious, hams = [], [], []
        for i in range(0, len(self.val_grids), DECODE_BATCH):
            if self._stop.is_set():
                return None
            part = slice(i, i + DECODE_BATCH)
            observations, truth = self._val_observations[part], self.val_grids[part]
            loss, _, _, _ = self._loss(observations, truth, torch.zeros(len(truth),
                                                                        self.encoder.code_dim))
            mu, _ = self.encoder(observation_channels(observations))
            decoded = (self.decoder.decode(mu) > 0).numpy()[:, 0]
            losses.append(float(loss))
            ious.append(iou(decoded, truth))
            hams.append((decoded != truth).reshape(len(truth), -1).mean(1))
        n = len(self.val_grids)
        loss, nll, kl, prior, rate = totals
        return CompletionReport(epoch, loss, nll, kl, sum(losses) / n,
                                float(np.concatenate(ious).mean()),
                                float(np.concatenate(hams).mean()),
                                self.optimizer.param_groups[0]["lr"], rate, elapsed, prior)

    def _observations(self, grids: np.ndarray, rng: np.random.Generator) -> list[Observation]:
        kinds = self.config.kinds
        return [simulate(kinds[rng.integers(len(kinds))], g, rng) for g in grids]

    # --- state ---------------------------------------------------------------------------------
    def state(self) -> CompletionState:
        """A copy of the training state, safe to save or hand to another thread."""
        return CompletionState(
            config=self.config, resolution=self.encoder.resolution,
            code_dim=self.encoder.code_dim,
            model_state={k: v.detach().clone().contiguous()
                         for k, v in self.encoder.state_dict().items()},
            decoder_fingerprint=self.fingerprint, epoch=self.epoch, history=list(self.history),
            optimizer_state=copy.deepcopy(self.optimizer.state_dict()))

    def _restore(self, state: CompletionState) -> None:
        if state.decoder_fingerprint != self.fingerprint:
            raise TrainingError("the completion encoder to resume belongs to another model")
        self.encoder.load_state_dict(state.model_state)
        self.encoder.to(memory_format=MEMORY_FORMAT)
        if state.optimizer_state is not None:
            self.optimizer.load_state_dict(state.optimizer_state)
        self.history, self.epoch = list(state.history), state.epoch


def decoder_fingerprint(vae: nn.Module) -> str:
    """A short hash of the decoder's weights: which VAE a completion encoder was trained for."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(vae.state_dict().items()):
        if not name.startswith(("encoder.", "to_mu.", "to_logvar.")):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()[:16]


def completion_path(checkpoint: str | Path) -> Path:
    """Where a checkpoint's completion encoder lives: ``<stem>.completion.pt`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}.completion.pt")
