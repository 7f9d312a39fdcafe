"""Maximum-likelihood completion (ML): the latent code that best explains an observation.

The decoder is frozen; Adam minimises, over every latent dimension (pose included), the
observed-voxels-only negative log-likelihood (trainer.completion.likelihood) plus the prior's
-log N(z; 0, I) up to a constant, prior_weight * |z|^2 / 2. It starts from several codes per
shape: the VAE encoder's posterior mean of the partial input (its occupied voxels), any given
codes (an amortised encoder's, say) and prior samples; for a pose-aware VAE also the best
pairs of their shapes with many poses (trainer.completion.pose_sweep). All of them are scored
once, and the best `restarts` per shape descend together in one batch; the best code seen
wins.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trainer.budgets import DECODE_BATCH
from trainer.completion.likelihood import observed_nll
from trainer.completion.observation import Observation
from trainer.completion.pose_sweep import pose_sweep
from trainer.perf import MEMORY_FORMAT
from trainer.pose import POSE_DIMS

StepCallback = Callable[[int, float, np.ndarray], bool]
"""``on_step(step, loss, best_codes)`` after every step (1-based): the mean over shapes of the
best loss so far, and the best codes so far (N, Q); returning False stops the search."""


@dataclass(frozen=True)
class SearchSettings:
    """How latent search runs (module docstring)."""

    steps: int = 40
    candidates: int = 64
    """Starting codes scored per shape: the encoder's, the given ones, then prior samples."""
    restarts: int = 2
    """The best-scoring candidates per shape that descend."""
    lr: float = 0.1
    sweep_shapes: int = 32
    """Pose-aware VAEs: the first starting codes whose shapes the pose sweep tries
    (trainer.completion.pose_sweep); 0 leaves the sweep out."""
    sweep_turns: int = 128
    """Rotations the pose sweep tries per shape (each at len(CENTROID_STEPS) centroids)."""
    sweep_keep: int = 8
    """The sweep's best codes per observation, scored with the other starting codes."""
    prior_weight: float = 1.0
    free_weight: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.candidates < 1 or not 1 <= self.restarts <= self.candidates:
            raise ValueError("need steps >= 0 and 1 <= restarts <= candidates")
        if min(self.sweep_shapes, self.sweep_turns, self.sweep_keep) < 0:
            raise ValueError("the pose sweep's sizes must be >= 0")


DEFAULT_SEARCH = SearchSettings()
FINAL_LR_FRACTION = 0.1
"""The step size decays along a cosine to this share of ``lr`` at the last step."""


def latent_search(model: nn.Module, observations: Sequence[Observation],
                  settings: SearchSettings = DEFAULT_SEARCH, *,
                  initial_codes: np.ndarray | None = None,
                  on_step: StepCallback | None = None) -> np.ndarray:
    """The ML codes (N, Q) of N observations under a VAE's decoder (trainer.model.VAE)."""
    if not observations:
        return np.zeros((0, model.latent_dim))
    net = frozen_copy(model)
    occupied = _stack([o.occupied for o in observations])
    free = _stack([o.free for o in observations])
    n = len(observations)
    with torch.no_grad():
        starts = _starting_codes(net, occupied, settings, initial_codes)  # (N, C, Q)
        if getattr(net, "pose", False) and settings.sweep_shapes and settings.sweep_keep:
            generator = torch.Generator().manual_seed(settings.seed + 1)
            swept = pose_sweep(net, occupied, free, starts[:, :settings.sweep_shapes, POSE_DIMS:],
                               settings.sweep_turns, settings.sweep_keep, settings.free_weight,
                               settings.prior_weight, generator)
            starts = torch.cat([starts, swept], 1)
        losses = torch.stack([_losses(net, starts[:, c], occupied, free, settings)
                              for c in range(starts.shape[1])], 1)       # (N, C)
    order = losses.argsort(1)[:, :settings.restarts]
    codes = torch.gather(starts, 1, order[..., None].expand(-1, -1, starts.shape[2]))
    best_loss = torch.gather(losses, 1, order[:, :1])[:, 0].clone()
    best = codes[:, 0].clone()
    z = codes.reshape(n * settings.restarts, -1).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, max(settings.steps, 1), eta_min=FINAL_LR_FRACTION * settings.lr)
    repeat = settings.restarts
    occupied_r, free_r = occupied.repeat_interleave(repeat, 0), free.repeat_interleave(repeat, 0)
    for step in range(1, settings.steps + 1):
        loss = _losses(net, z, occupied_r, free_r, settings)
        optimiser.zero_grad(set_to_none=True)
        loss.sum().backward()
        with torch.no_grad():
            per_shape = loss.detach().view(n, repeat)
            value, which = per_shape.min(1)
            better = value < best_loss
            best_loss = torch.where(better, value, best_loss)
            chosen = z.detach().view(n, repeat, -1)[torch.arange(n), which]
            best = torch.where(better[:, None], chosen, best)
        optimiser.step()
        scheduler.step()
        if on_step is not None and not on_step(step, float(best_loss.mean()),
                                               best.double().numpy()):
            break
    return best.double().numpy()


def frozen_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` without gradients for its weights, channels-last, with
    the decoder's BatchNorm layers folded into the convolutions before them (the same function,
    a cheaper backward pass). The caller's model is left as it is: another thread may be
    decoding with it."""
    net = copy.deepcopy(model).eval()
    decoder = getattr(net, "decoder", None)
    if isinstance(decoder, nn.Sequential):
        _fold_batch_norms(decoder)
    net.to(memory_format=MEMORY_FORMAT)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


@torch.no_grad()
def _fold_batch_norms(layers: nn.Sequential) -> None:
    """Replace every (Conv3d, BatchNorm3d) pair of ``layers`` by the Conv3d with the eval-mode
    normalisation folded into its weights and bias."""
    for i in range(1, len(layers)):
        conv, norm = layers[i - 1], layers[i]
        if not (isinstance(conv, nn.Conv3d) and isinstance(norm, nn.BatchNorm3d)):
            continue
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
        conv.weight.mul_(scale.view(-1, 1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - norm.running_mean) * scale + norm.bias)
        layers[i] = nn.Identity()


def _starting_codes(net: nn.Module, occupied: torch.Tensor, settings: SearchSettings,
                    initial_codes: np.ndarray | None) -> torch.Tensor:
    """(N, candidates, Q): the encoder's mean of the occupied voxels, the given codes, then
    prior samples drawn from ``settings.seed``."""
    n, width = len(occupied), net.latent_dim
    encoded = torch.cat([net.encode(_grids(occupied[i:i + DECODE_BATCH]))[0]
                         for i in range(0, n, DECODE_BATCH)])
    parts = [encoded[:, None]]
    if initial_codes is not None:
        given = torch.as_tensor(np.asarray(initial_codes), dtype=torch.float32)
        parts.append(given.reshape(n, -1, width))
    taken = sum(p.shape[1] for p in parts)
    extra = max(settings.candidates - taken, 0)
    generator = torch.Generator().manual_seed(settings.seed)
    parts.append(torch.randn((n, extra, width), generator=generator))
    return torch.cat(parts, 1)[:, :max(settings.candidates, taken)].float()


def _losses(net: nn.Module, z: torch.Tensor, occupied: torch.Tensor, free: torch.Tensor,
            settings: SearchSettings) -> torch.Tensor:
    """Observed NLL plus the prior term per code: (B,). Decodes in chunks of DECODE_BATCH."""
    out = []
    for i in range(0, len(z), DECODE_BATCH):
        part = slice(i, i + DECODE_BATCH)
        logits = net.decode(z[part])
        out.append(observed_nll(logits, occupied[part], free[part], settings.free_weight)
                   + 0.5 * settings.prior_weight * z[part].pow(2).sum(1))
    return torch.cat(out)


def _stack(grids: list[np.ndarray]) -> torch.Tensor:
    """Boolean grids -> (N, 1, D, D, D) float32."""
    return torch.from_numpy(np.stack(grids).astype(np.float32))[:, None]


def _grids(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=MEMORY_FORMAT)
