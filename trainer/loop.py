"""Trainer: the epoch loop with validation, reports, pause/stop requests and exact resume."""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import torch

from trainer.augment import flip_batch, mirror_axes, shift_batch
from trainer.auto_choices import resolve_auto
from trainer.checkpoint import Checkpoint, check_model_size, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.device import amp_dtype, resolve_device
from trainer.distributed import SINGLE_PROCESS, Ranks
from trainer.errors import ConfigError, TrainingError
from trainer.families import family_of
from trainer.grid_values import grid_values
from trainer.noise import corrupt, draw_noise
from trainer.objective import LossTerms
from trainer.perf import MEMORY_FORMAT
from trainer.report import BatchProgress, EpochReport
from trainer.run_control import PausableClock, RunControl
from trainer.schedules import beta_at, lr_at
from trainer.stats import reconstruction_scores

VALIDATION_BATCH = 32

ReportCallback = Callable[[EpochReport], None]
ProgressCallback = Callable[[BatchProgress], None]


class Trainer(RunControl):
    """Trains a VAE on a training set, validating on a held-out set after every epoch.

    The config picks the latent family (trainer.families: the model, its noise, loss terms and
    latent statistics), input corruption for a denoising VAE (training inputs only; targets and
    validation stay clean), the beta schedule and free bits (see trainer.schedules and
    trainer.objective).

    Callbacks run on the thread that calls `run()`. `pause()`, `resume()` and `stop()` may be
    called from any thread; they take effect between batches (stop also between validation
    batches).

    With augment 'mirror', training shapes are flipped where their class is mirror-symmetric
    (trainer.augment). The Trainer decides the settings left to 'auto' from the training shapes
    (trainer.auto_choices): `config` holds the decided values, `choices` what and why (the
    same shapes decide the same, so a resumed run goes on as it began).

    `device` and `amp` (`off`, or `bf16`/`fp16` autocast on CUDA) say how the run computes; the
    data stays on the CPU and moves per batch. `ranks` places the process in a data-parallel run
    (see trainer.distributed); `sync_bn` then synchronises BatchNorm across GPUs.
    """

    def __init__(self, config: TrainConfig, train: ShapeSet, val: ShapeSet, *,
                 on_report: ReportCallback | None = None,
                 on_progress: ProgressCallback | None = None,
                 checkpoint_path: str | Path | None = None,
                 resume_from: Checkpoint | None = None,
                 device: str | torch.device = "cpu", amp: str = "off",
                 ranks: Ranks = SINGLE_PROCESS, sync_bn: bool = False) -> None:
        if train.resolution != config.resolution or val.resolution != config.resolution:
            raise TrainingError(f"data resolution {train.resolution} does not match the config's "
                                f"{config.resolution}")
        if config.grid == "sdf" and not (train.signed and val.signed):
            raise TrainingError("the config asks for signed-distance grids but the data holds "
                                "occupancy grids")
        if config.batch_size < 2 * ranks.world_size or len(train) < 2 * ranks.world_size:
            raise ConfigError(f"batch_size ({config.batch_size}) and the training set "
                              f"({len(train)} shapes) must hold at least 2 shapes per process "
                              f"({ranks.world_size} processes)")
        config, self.choices = resolve_auto(config, train)
        check_model_size(config)
        self.config = config
        self.device, self.ranks = resolve_device(device), ranks
        self.autocast_dtype = amp_dtype(amp, self.device)
        self.class_names = train.class_names
        self.on_report, self.on_progress = on_report, on_progress
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        torch.manual_seed(config.seed)
        self.family = family_of(config)
        self.grid_values = grid_values(config)
        self.model = self.family.build_model().to(self.device, memory_format=MEMORY_FORMAT)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp == "fp16")
        self.noise = torch.Generator().manual_seed(config.seed + 1)
        self.history: list[EpochReport] = []
        self.epoch = 0
        self._train = torch.from_numpy(train.grids)
        self._labels = torch.from_numpy(train.labels)
        self._mirror = torch.from_numpy(mirror_axes(train)) if config.augment == "mirror" else None
        self._val = torch.from_numpy(val.grids)
        self._outside = 1.0 if config.grid == "sdf" else 0.0
        RunControl.__init__(self)
        if resume_from is not None:
            self._restore(resume_from)
        self.net = ranks.wrap(self.model, self.device, sync_bn)

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> bool:
        """Train up to `config.epochs`. Returns True when finished, False when stopped early.

        A non-finite loss or gradient raises TrainingError before the optimiser step, so the
        model keeps the weights of the last good step.
        """
        elapsed_before = self.history[-1].elapsed_s if self.history else 0.0
        clock = PausableClock()
        for epoch in range(self.epoch + 1, self.config.epochs + 1):
            with self._out_of_memory_as_error(epoch):
                trained = self._train_epoch(epoch, clock, elapsed_before)
            if trained is None:
                return False
            self.ranks.sync_buffers(self.model)  # all ranks keep rank 0's BatchNorm statistics
            # rank 0 validates on the whole validation set; the other ranks receive its report
            with self._out_of_memory_as_error(epoch):
                report = (self._validate(epoch, trained, elapsed_before + clock.elapsed())
                          if self.ranks.is_main else None)
            report = self.ranks.from_main(report)
            if report is None:
                return False
            self.history.append(report)
            self.epoch = epoch
            if self.checkpoint_path is not None and self.ranks.is_main:
                save_checkpoint(self.checkpoint_path, self.checkpoint())
            if self.on_report is not None:
                self.on_report(report)
        return True

    @contextlib.contextmanager
    def _out_of_memory_as_error(self, epoch: int) -> Iterator[None]:
        """Turn running out of memory (CUDA or CPU) into a TrainingError with advice; the
        checkpoint of the last completed epoch stays as it is."""
        try:
            yield
        except (RuntimeError, MemoryError) as exc:
            if not _is_out_of_memory(exc):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            cfg = self.config
            raise TrainingError(
                f"training stopped: out of memory in epoch {epoch} on {self.device} (batch size "
                f"{cfg.batch_size}, {cfg.resolution}^3 grids, channels {list(cfg.channels)}); "
                "try a smaller batch size, resolution or channels") from exc

    def _train_epoch(self, epoch: int, clock: PausableClock,
                     elapsed_before: float) -> _EpochTotals | None:
        cfg = self.config
        order = torch.randperm(len(self._train),
                               generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch))
        batches = [b for b in order.split(cfg.batch_size) if len(b) >= 2 * self.ranks.world_size]
        flips = torch.Generator().manual_seed(cfg.seed * 7919 + epoch + 1_000_003)
        self.net.train()
        sums = [0.0, 0.0, 0.0]
        seen = 0
        start = clock.elapsed()
        beta: float = cfg.beta
        temperature: float | None = None
        for i, batch in enumerate(batches):
            if not self._wait_while_paused(clock):
                return None
            step = (epoch - 1) * len(batches) + i
            lr = self._lr_at(step, cfg.epochs * len(batches))
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            beta = beta_at(cfg, epoch - 1 + (i + 1) / len(batches))
            temperature = self.family.temperature(step)
            share = self.ranks.shard(len(batch))
            grids = self._train[batch]
            if self._mirror is not None:
                grids = flip_batch(grids, self._labels[batch], self._mirror, flips)
            if cfg.shift:
                grids = shift_batch(grids, cfg.shift, flips, self._outside)
            y = self._to_device(grids[share])
            eps = self._noise(self.noise, cfg.samples, len(batch))[:, share]
            eps = eps.reshape(-1, eps.shape[-1])
            x = self._corrupt(y, len(batch), share)
            buffers = [b.clone() for b in self.model.buffers()]  # BatchNorm statistics
            terms = self._training_terms(x, y, eps, beta, temperature)
            loss, recon, kl = self.ranks.batch_means(
                (float(terms.loss.detach()), terms.recon, terms.kl), len(y))
            if not math.isfinite(loss):
                _restore_buffers(self.model, buffers)
                raise TrainingError(f"training stopped: the loss became {loss} "
                                    f"in epoch {epoch}, batch {i + 1}; the model keeps its last "
                                    "good weights (try a lower learning rate)")
            self.optimizer.zero_grad(set_to_none=True)
            weight = self.ranks.loss_weight(len(y), len(batch))
            self.scaler.scale(terms.loss * weight).backward()
            if not self.scaler.is_enabled() and not all(
                    torch.isfinite(p.grad).all() for p in self.model.parameters()
                    if p.grad is not None):
                _restore_buffers(self.model, buffers)
                raise TrainingError(f"training stopped: non-finite gradients in epoch {epoch}, "
                                    f"batch {i + 1}; the model keeps its last good weights")
            self.scaler.step(self.optimizer)  # fp16: skips a step whose gradients overflowed
            self.scaler.update()
            n = len(batch)
            seen += n
            for k, v in enumerate((loss, recon, kl)):
                sums[k] += v * n
            if self.on_progress is not None:
                self.on_progress(BatchProgress(epoch, i + 1, len(batches), loss,
                                               elapsed_before + clock.elapsed()))
        rate = seen / max(clock.elapsed() - start, 1e-9)
        return _EpochTotals(sums[0] / seen, sums[1] / seen, sums[2] / seen, rate, beta,
                            temperature)

    def _training_terms(self, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor, beta: float,
                        temperature: float | None) -> LossTerms:
        """One batch's loss: encode the (possibly corrupted) inputs `x`, score against `y`."""
        return self.family.training_terms(self.net, x, y, eps, beta, temperature,
                                          self._autocast())

    def _wait_while_paused(self, clock: PausableClock) -> bool:
        if not self._running.is_set():
            clock.pause()
            while not self._running.wait(0.1):
                pass
            clock.resume()
        return not self.ranks.any(self._stop.is_set())

    def _to_device(self, grids: torch.Tensor) -> torch.Tensor:
        """Stored grids (uint8 or float, CPU) -> float32 on the device, channels-last."""
        if self.device.type == "cuda":
            grids = grids.pin_memory().to(self.device, non_blocking=True)
        return grids.float().contiguous(memory_format=MEMORY_FORMAT)

    def _noise(self, generator: torch.Generator, samples: int, n: int) -> torch.Tensor:
        """The family's training noise (samples, n, width), drawn on the CPU: the same on every
        device."""
        return self.family.noise(generator, samples, n).to(self.device)

    def _corrupt(self, y: torch.Tensor, batch: int, share: slice) -> torch.Tensor:
        """The denoising VAE's encoder input: `y` corrupted by the configured noise model (drawn
        for the whole batch from the run's generator, so resume stays exact), or `y` itself."""
        cfg = self.config
        if cfg.noise == "none":
            return y
        field = draw_noise(cfg.noise, (batch, *y.shape[1:]), self.noise)[share]
        return corrupt(y, cfg.noise, cfg.noise_level, field).contiguous(
            memory_format=MEMORY_FORMAT)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.autocast_dtype,
                              enabled=self.autocast_dtype is not None)

    def _lr_at(self, step: int, total: int) -> float:
        """Linear warm-up, then cosine decay to a small floor (or constant)."""
        return lr_at(self.config.lr, step, total, self.config.lr_schedule == "constant")

    @torch.no_grad()
    def _validate(self, epoch: int, train: _EpochTotals, elapsed: float) -> EpochReport | None:
        """The epoch's report, or None when a stop request interrupts validation.

        Validation encodes clean grids, uses the epoch's last beta and temperature, and scores
        the reconstruction decoded from the posterior mean (Gaussian) or mode (categorical).
        """
        cfg = self.config
        self.model.eval()
        noise = torch.Generator().manual_seed(cfg.seed + 2)
        posteriors: list[tuple[torch.Tensor, ...]] = []
        ious, hams = [], []
        loss = recon = kl = 0.0
        for chunk in self._val.split(VALIDATION_BATCH):
            if self._stop.is_set():
                return None
            y = self._to_device(chunk)
            eps = self._noise(noise, cfg.samples, len(chunk))
            terms, mean_out, posterior = self._validation_step(
                y, eps.reshape(-1, eps.shape[-1]), train.beta, train.temperature)
            n = len(chunk)
            loss += float(terms.loss) * n
            recon += terms.recon * n
            kl += terms.kl * n
            iou, ham = reconstruction_scores(self.grid_values.activate(mean_out), y,
                                             signed=self.grid_values.signed_distance)
            posteriors.append(posterior)
            ious.append(iou)
            hams.append(ham)
        n = len(self._val)
        return EpochReport(
            epoch=epoch, train_loss=train.loss, train_recon=train.recon, train_kl=train.kl,
            val_loss=loss / n, val_recon=recon / n, val_kl=kl / n,
            val_iou=float(torch.cat(ious).mean()), val_hamming=float(torch.cat(hams).mean()),
            **self._latent_report(posteriors), latent_dim=cfg.latent_dim,
            lr=self.optimizer.param_groups[0]["lr"], samples_per_s=train.rate, elapsed_s=elapsed,
            beta=train.beta, temperature=train.temperature)

    def _validation_step(self, y: torch.Tensor, eps: torch.Tensor, beta: float,
                         temperature: float | None) -> tuple[LossTerms, torch.Tensor, tuple]:
        """Loss terms, the decoded posterior mean (or mode) and the posterior of clean `y`."""
        return self.family.validation_terms(self.model, y, eps, beta, temperature,
                                            self._autocast())

    def _latent_report(self, posteriors: list[tuple[torch.Tensor, ...]]) -> dict[str, Any]:
        """The EpochReport fields of the latent statistics over the validation set."""
        parts = tuple(torch.cat(p) for p in zip(*posteriors, strict=True))
        return {**self.family.report_statistics(parts), "family": self.family.name}

    # --- state ---------------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """A copy of the full training state, safe to save or hand to another thread."""
        return Checkpoint(
            config=self.config,
            model_state=self.model_state(),
            epoch=self.epoch,
            history=list(self.history),
            class_names=tuple(self.class_names),
            optimizer_state=copy.deepcopy(self.optimizer.state_dict()),
            rng_state=self.noise.get_state(),
        )

    def model_state(self) -> dict[str, torch.Tensor]:
        """A contiguous CPU copy of the current weights (a snapshot, never the live tensors)."""
        return {k: v.detach().to("cpu", copy=True).contiguous()
                for k, v in self.model.state_dict().items()}

    def _restore(self, ckpt: Checkpoint) -> None:
        self.model.load_state_dict(ckpt.build_model().state_dict())
        self.model.to(memory_format=MEMORY_FORMAT)
        if ckpt.optimizer_state is not None:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        if ckpt.rng_state is not None:
            self.noise.set_state(ckpt.rng_state)
        self.history = list(ckpt.history)
        self.epoch = ckpt.epoch
        self.class_names = ckpt.class_names or self.class_names


class _EpochTotals(NamedTuple):
    """Training means of one epoch, its speed, and the schedules' values at its last step."""

    loss: float
    recon: float
    kl: float
    rate: float
    beta: float
    temperature: float | None


def _is_out_of_memory(exc: BaseException) -> bool:
    """MemoryError, torch's OutOfMemoryError (CUDA) or the CPU allocator's RuntimeError."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc)
    return "out of memory" in text or "can't allocate memory" in text


@torch.no_grad()
def _restore_buffers(model: torch.nn.Module, saved: list[torch.Tensor]) -> None:
    for buffer, value in zip(model.buffers(), saved, strict=True):
        buffer.copy_(value)
