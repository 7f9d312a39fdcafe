"""Shape completion: speed of AML and ML at 32^3 and the completion table on held-out shapes.

Speed: the completion encoder's codes (AML) per shape, batched and one at a time, with and
without decoding; latent search (ML) per shape, one shape at a time (the GUI's case) and a
batch of 16. Table: ``evaluate_completion`` on the run's held-out built-in solids, single-view
clean and noisy scans, with the encoders beside the checkpoint (``<stem>.completion.pt``, and
``<stem>.supervised.pt`` for the supervised baseline, left out when missing). With
``--modelnet CKPT`` (a VAE trained on a ModelNet10 folder) the same table on the held-out
folder ``--modelnet-holdout`` (skipped when the folder is missing).

    python -m benchmarks.completion [CHECKPOINT] [--shapes 30] [--steps 40]
        [--modelnet CKPT --modelnet-train DIR --modelnet-holdout DIR] [--speed-only]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from trainer.checkpoint import load_checkpoint
from trainer.completion.amortised import amortised_codes, completion_path
from trainer.completion.encoder_file import load_encoder
from trainer.completion.evaluation import evaluate_completion
from trainer.completion.latent_search import SearchSettings, frozen_copy, latent_search
from trainer.completion.observation import simulate
from trainer.data.sources import load_run_data
from trainer.perf import tune_allocator

ROOT = Path(__file__).resolve().parent.parent
MN10_TRAIN = Path("/work/data/mn10_train")
MN10_HOLDOUT = Path("/work/data/mn10_holdout")


def encoders(checkpoint: Path, vae):
    """The AML and supervised encoders beside ``checkpoint`` (None where missing)."""
    found = []
    for path in (completion_path(checkpoint), checkpoint.with_name(checkpoint.stem +
                                                                   ".supervised.pt")):
        found.append(load_encoder(path, vae) if path.exists() else None)
        print(f"  {path.name}: {'found' if path.exists() else 'missing'}")
    return found


def speed(checkpoint: Path, steps: int) -> None:
    ckpt = load_checkpoint(checkpoint)
    vae = ckpt.build_model()
    aml, _ = encoders(checkpoint, vae)
    _, val = load_run_data(ckpt.config).shapes.split(ckpt.config.val_fraction, ckpt.config.seed)
    grids = val.grids[:64, 0] > 0.5
    rng = np.random.default_rng(0)
    observations = [simulate("single-view", g, rng) for g in grids]
    decoder = frozen_copy(vae)
    if aml is not None:
        amortised_codes(aml, observations[:16])                       # warm-up
        start = time.perf_counter()
        codes = amortised_codes(aml, observations)
        batched = (time.perf_counter() - start) / len(observations)
        single = []
        for o in observations[:20]:
            start = time.perf_counter()
            amortised_codes(aml, [o])
            single.append(time.perf_counter() - start)
        with torch.no_grad():
            start = time.perf_counter()
            for i in range(0, len(codes), 16):
                decoder.decode(torch.from_numpy(codes[i:i + 16]).float())
            decode = (time.perf_counter() - start) / len(codes)
        print(f"AML codes: {1000 * batched:.2f} ms/shape batched ({len(observations)} shapes), "
              f"{1000 * statistics.median(single):.2f} ms one at a time (median of 20); "
              f"decoding the codes {1000 * decode:.1f} ms/shape batched")
    settings = SearchSettings(steps=steps)
    one = []
    for o in observations[:3]:
        start = time.perf_counter()
        latent_search(vae, [o], settings)
        one.append(time.perf_counter() - start)
    start = time.perf_counter()
    latent_search(vae, observations[:16], settings)
    batch = (time.perf_counter() - start) / 16
    print(f"ML ({steps} steps, {settings.candidates} scored starts, {settings.restarts} "
          f"descending): {statistics.median(one):.2f} s/shape one at a time (median of 3: "
          f"{', '.join(f'{t:.2f}' for t in one)}), {batch:.2f} s/shape in a batch of 16")


def table(checkpoint: Path, shapes: int, steps: int, data: Path | None = None,
          train_data: Path | None = None) -> None:
    ckpt = load_checkpoint(checkpoint)
    vae = ckpt.build_model()
    aml, supervised = encoders(checkpoint, vae)
    config = ckpt.config if train_data is None else ckpt.config.with_overrides(
        data=str(train_data))
    train, val = load_run_data(config).shapes.split(config.val_fraction, config.seed)
    if data is None:
        held_out, name = val, "built-in validation split"
    else:
        held_out = load_run_data(ckpt.config.with_overrides(data=str(data))).shapes
        held_out = held_out.subset(np.random.default_rng(0).permutation(len(held_out)))
        name = data.name
    start = time.perf_counter()
    evaluation = evaluate_completion(
        vae, held_out.grids[:shapes, 0] > 0.5, training_grids=train.grids[:, 0] > 0.5,
        aml=aml, supervised=supervised, search=SearchSettings(steps=steps), data=name,
        progress=lambda text: print(f"  ... {text}", flush=True))
    print("\n".join(evaluation.lines()))
    print(f"({time.perf_counter() - start:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, nargs="?",
                        default=ROOT / "assets" / "default_model.pt")
    parser.add_argument("--shapes", type=int, default=30)
    parser.add_argument("--steps", type=int, default=SearchSettings().steps)
    parser.add_argument("--modelnet", type=Path, help="a VAE trained on --modelnet-train")
    parser.add_argument("--modelnet-train", type=Path, default=MN10_TRAIN)
    parser.add_argument("--modelnet-holdout", type=Path, default=MN10_HOLDOUT)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    tune_allocator()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not args.table_only:
        speed(args.checkpoint, args.steps)
    if args.speed_only:
        return
    table(args.checkpoint, args.shapes, args.steps)
    if args.modelnet is not None and args.modelnet_holdout.is_dir():
        table(args.modelnet, args.shapes, args.steps, args.modelnet_holdout, args.modelnet_train)
    elif args.modelnet is not None:
        print(f"ModelNet10 table skipped: {args.modelnet_holdout} is missing")


if __name__ == "__main__":
    main()
