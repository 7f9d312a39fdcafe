"""What the random orientations of the built-in solids cost a VAE, and what pose dimensions win.

1. The IoU a reconstruction scores if every voxel whose centre lies within ``delta`` voxels of
   the true surface is a coin flip and every other voxel is right: how precisely a decoder must
   place surfaces for a given IoU (data only, seconds).
2. The network without pose dimensions trained for ``--epochs`` on the built-in solids as they
   are (random orientations) and on the same draws left axis-aligned, and the default network,
   whose first 9 latent dimensions hold each shape's pose (trainer.pose), on the solids as they
   are: validation IoU per epoch and, at the end, per class.

    python -m benchmarks.orientation_cost [--epochs 8] [--shapes 4000] [--skip-training]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from trainer.config import TrainConfig
from trainer.data.procedural import SHAPE_KINDS, make_procedural
from trainer.data.shapeset import ShapeSet
from trainer.loop import Trainer
from trainer.perf import tune_allocator
from trainer.report import EpochReport
from trainer.stats import iou_and_hamming

BANDS = (0.1, 0.2, 0.3, 0.5)
"""Half-widths in voxels of the band around the surface where voxels are coin flips."""


def coin_flip_iou(distances: np.ndarray, delta: float) -> np.ndarray:
    """Expected per-shape IoU when voxels whose centres lie within ``delta`` voxels of the
    surface are guessed with probability 1/2 and all others are right.

    ``distances`` (N, D, D, D): signed distances in voxels, negative inside.
    """
    inside, band = distances <= 0, np.abs(distances) < delta
    flat = (len(distances), -1)
    sure = (inside & ~band).reshape(flat).sum(1)
    band_in = (inside & band).reshape(flat).sum(1)
    band_out = (~inside & band).reshape(flat).sum(1)
    # E[TP] = sure + band_in / 2, E[FP] = band_out / 2, E[FN] = band_in / 2
    return (sure + band_in / 2) / (sure + band_in + band_out / 2)


def print_precision_table(shapes: int, seed: int) -> None:
    truncation = 3.0
    sdf = make_procedural(shapes, 32, seed, grid="sdf", truncation=truncation)
    distances = sdf.grids[:, 0].astype(np.float32) * truncation
    print("IoU at 32^3 if every voxel within delta voxels of the surface is a coin flip "
          f"({shapes} built-in solids):")
    print("| delta (voxels) | all | " + " | ".join(SHAPE_KINDS) + " |")
    print("|---" * (len(SHAPE_KINDS) + 2) + "|")
    for delta in BANDS:
        iou = coin_flip_iou(distances, delta)
        per_class = [iou[sdf.labels == k].mean() for k in range(len(SHAPE_KINDS))]
        print(f"| {delta} | {iou.mean():.3f} | " + " | ".join(f"{v:.3f}" for v in per_class)
              + " |")


RUNS = {"turned, no pose dimensions": ("none", True),
        "axis-aligned, no pose dimensions": ("none", False),
        "turned, pose dimensions (default)": ("auto", True)}
"""Column title -> (pose setting, whether the solids are turned)."""


def train_and_score(config: TrainConfig, name: str) -> tuple[list[float], np.ndarray]:
    """Validation IoU per epoch, and per class at the end, of run ``name`` of RUNS."""
    pose, rotate = RUNS[name]
    config = config.with_overrides(pose=pose)
    shapes = make_procedural(config.dataset_size, config.resolution, config.seed,
                             rotate=rotate)
    train, val = shapes.split(config.val_fraction, config.seed)
    curve: list[float] = []
    start = time.perf_counter()

    def report(r: EpochReport) -> None:
        curve.append(r.val_iou)
        print(f"  {name}, epoch {r.epoch}: val IoU {r.val_iou:.3f}  "
              f"({(time.perf_counter() - start) / 60:.1f} min)", flush=True)

    trainer = Trainer(config, train, val, on_report=report)
    trainer.run()
    return curve, per_class_iou(trainer, val)


def per_class_iou(trainer: Trainer, val: ShapeSet) -> np.ndarray:
    """Mean validation IoU of the decoded encoder means, per class."""
    model = trainer.model.eval()
    ious = []
    with torch.no_grad():
        for i in range(0, len(val), 50):
            y = torch.from_numpy(val.grids[i:i + 50]).float()
            mu, _ = model.encode(y)
            ious.append(iou_and_hamming(torch.sigmoid(model.decode(mu)), y)[0])
    iou = torch.cat(ious).numpy()
    return np.array([iou[val.labels == k].mean() for k in range(len(val.class_names))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--shapes", type=int, default=4000, help="procedural shapes per run")
    parser.add_argument("--skip-training", action="store_true",
                        help="print the precision table only")
    args = parser.parse_args()
    tune_allocator()
    print_precision_table(1400, seed=5)
    if args.skip_training:
        return
    config = TrainConfig(epochs=args.epochs, dataset_size=args.shapes)
    print(f"\n{args.shapes} solids, {args.epochs} epochs (cosine schedule over them), batch "
          f"{config.batch_size}:")
    results = {name: train_and_score(config, name) for name in RUNS}
    header = "| {} | " + " | ".join(RUNS) + " |\n|---" + "|---" * len(RUNS) + "|"
    print("\n" + header.format("epoch"))
    for epoch in range(args.epochs):
        print(f"| {epoch + 1} | " + " | ".join(f"{curve[epoch]:.3f}" for curve, _ in
                                               results.values()) + " |")
    print("\n" + header.format("class"))
    for k, kind in enumerate(SHAPE_KINDS):
        print(f"| {kind} | " + " | ".join(f"{classes[k]:.3f}" for _, classes in
                                          results.values()) + " |")


if __name__ == "__main__":
    main()
