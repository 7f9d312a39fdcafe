"""Where a trained VAE loses validation IoU: per class, with the encoder's codes and with the
decoder's best codes.

For each validation shape (the checkpoint's own data and split) the IoU at 0.5 of the decoded
encoder mean, then of codes optimised by Adam on the Bernoulli log-likelihood with the trained
decoder fixed: the best the decoder can draw the shape. The difference is the encoder's share
of the error (the amortisation gap), what remains is the decoder's.

    python -m benchmarks.reconstruction_by_class [CHECKPOINT] [--shapes 140] [--steps 150]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from trainer.checkpoint import load_checkpoint
from trainer.data.shapeset import ShapeSet
from trainer.data.sources import load_shapes
from trainer.families import family_of
from trainer.model import VAE
from trainer.objective import reconstruction_nll
from trainer.perf import tune_allocator
from trainer.stats import iou_and_hamming

ROOT = Path(__file__).resolve().parent.parent


def balanced_subset(shapes: ShapeSet, n: int) -> ShapeSet:
    """Up to ``n`` shapes: the first ``n // classes`` of each class present."""
    per_class = [np.flatnonzero(shapes.labels == k) for k in range(len(shapes.class_names))]
    take = max(1, n // max(1, sum(len(p) > 0 for p in per_class)))
    return shapes.subset(np.sort(np.concatenate([p[:take] for p in per_class])))


def optimised_codes(model: VAE, grids: torch.Tensor, start: torch.Tensor, steps: int,
                    lr: float) -> torch.Tensor:
    """Codes that maximise the Bernoulli log-likelihood of ``grids`` under the fixed decoder."""
    z = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        loss = reconstruction_nll(model.decode(z), grids, "bernoulli").sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return z.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", nargs="?", default=str(ROOT / "assets/default_model.pt"))
    parser.add_argument("--shapes", type=int, default=140, help="validation shapes, balanced")
    parser.add_argument("--steps", type=int, default=150, help="Adam steps on the codes")
    parser.add_argument("--lr", type=float, default=0.03, help="Adam learning rate")
    args = parser.parse_args()
    tune_allocator()

    ckpt = load_checkpoint(args.checkpoint)
    config = ckpt.config
    if family_of(config, ckpt.kind).name not in ("gaussian", "pose") \
            or config.likelihood != "bernoulli":
        sys.exit("error: needs a Gaussian-latent VAE with the Bernoulli likelihood")
    model = ckpt.build_model()
    model.requires_grad_(False)
    _, val = load_shapes(config).split(config.val_fraction, config.seed)
    val = balanced_subset(val, args.shapes)
    grids = torch.from_numpy(val.float_grids())

    start = time.perf_counter()
    with torch.no_grad():
        mu, _ = model.encode(grids)
        encoded, _ = iou_and_hamming(torch.sigmoid(model.decode(mu)), grids)
    z = optimised_codes(model, grids, mu, args.steps, args.lr)
    with torch.no_grad():
        best, _ = iou_and_hamming(torch.sigmoid(model.decode(z)), grids)
    occupied = grids.flatten(1).sum(1)

    print(f"{args.checkpoint}: {config.resolution}^3, Q = {config.latent_dim}, "
          f"{len(val)} validation shapes, {args.steps} Adam steps on the codes "
          f"({time.perf_counter() - start:.0f} s)")
    print(f"{'class':12s} {'shapes':>6s} {'voxels':>7s} {'IoU encoder':>12s} "
          f"{'IoU best codes':>15s}")
    for k, name in enumerate(val.class_names):
        rows = torch.from_numpy(val.labels == k)
        if rows.any():
            print(f"{name:12s} {int(rows.sum()):6d} {occupied[rows].mean():7.0f} "
                  f"{encoded[rows].mean():12.3f} {best[rows].mean():15.3f}")
    print(f"{'all':12s} {len(val):6d} {occupied.mean():7.0f} {encoded.mean():12.3f} "
          f"{best.mean():15.3f}")


if __name__ == "__main__":
    main()
