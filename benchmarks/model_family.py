"""The model family side by side: VAE, denoising VAE, discrete VAE and PPCA on the same data.

    python -m benchmarks.model_family [--epochs 30 --shapes 4000 --resolution 32]

All four see the same procedural solids, split and seed, and the same latent size Q (default 16):

- VAE: the default config (Gaussian latents, Bernoulli likelihood, beta 1).
- denoising VAE: the same with every training input corrupted by Bernoulli flips, p = 0.1
  (Im et al.); targets and validation stay clean.
- discrete VAE: K = Q categorical variables of C = 8 classes (Gumbel-softmax, temperature 1 ->
  0.5, KL to the uniform prior). One variable holds log2 8 = 3 bits; the decoder input is K x C
  = 128 numbers against the Gaussian VAE's 16, the encoder and decoder are otherwise the same.
- PPCA: the closed-form fit with Q components on the training grids.

The VAEs train for the same number of epochs with the same batch size and learning-rate schedule.
The table gives the validation IoU and Hamming distance of the reconstruction from the posterior
mean (categorical: mode), the validation reconstruction term, and the time each took.
``--checkpoints DIR`` keeps each model (open them with `python main.py info` or the GUI).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from trainer.checkpoint import Checkpoint, save_checkpoint
from trainer.cli import format_report
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.loop import Trainer
from trainer.perf import tune_allocator
from trainer.ppca import fit_and_evaluate, ppca_config

CLASSES = 8
NOISE_P = 0.1


def configs(base: TrainConfig) -> dict[str, TrainConfig]:
    return {
        "VAE": base,
        f"denoising VAE (flip p={NOISE_P})": base.with_overrides(noise="flip",
                                                                 noise_level=NOISE_P),
        f"discrete VAE ({base.latent_dim} x {CLASSES})": base.with_overrides(
            latent="categorical", categorical_classes=CLASSES),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--shapes", type=int, default=4000, help="procedural shapes in all")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--checkpoints", type=Path, help="save every model in this folder")
    args = parser.parse_args()
    tune_allocator()
    base = TrainConfig(epochs=args.epochs, dataset_size=args.shapes,
                       resolution=args.resolution, latent_dim=args.latent_dim)
    shapes = load_shapes(base)
    train, val = shapes.split(base.val_fraction, base.seed)
    print(f"{len(train)} training / {len(val)} validation shapes at {args.resolution}^3, "
          f"Q = {args.latent_dim}, {args.epochs} epochs", flush=True)

    rows = []
    for name, config in configs(base).items():
        print(f"\n{name}", flush=True)
        start = time.perf_counter()
        trainer = Trainer(config, train, val,
                          on_report=lambda r: print("  " + format_report(r), flush=True))
        trainer.run()
        last = trainer.history[-1]
        rows.append((name, last.val_iou, last.val_hamming, last.val_recon,
                     time.perf_counter() - start))
        if args.checkpoints:
            slug = name.split(" (")[0].replace(" ", "_")
            save_checkpoint(args.checkpoints / f"{slug}.pt", trainer.checkpoint())

    print(f"\nPPCA (Q={args.latent_dim})", flush=True)
    start = time.perf_counter()
    config = ppca_config(base)
    model, report = fit_and_evaluate(config, train, val)
    # the Gaussian SSE is no Bernoulli NLL: no reconstruction term is shown for PPCA
    rows.append((f"PPCA (Q={args.latent_dim})", report.val_iou, report.val_hamming,
                 float("nan"), time.perf_counter() - start))
    if args.checkpoints:
        save_checkpoint(args.checkpoints / "PPCA.pt", Checkpoint(
            config=config, model_state=model.state_dict(), class_names=shapes.class_names,
            kind="ppca", ppca=report))

    print(f"\n{'model':34} {'val IoU':>8} {'Hamming':>8} {'val recon':>10} {'time':>8}")
    for name, iou, hamming, recon, seconds in rows:
        print(f"{name:34} {iou:8.3f} {hamming:8.4f} {recon:10.1f} {seconds / 60:6.1f} min")


if __name__ == "__main__":
    main()
