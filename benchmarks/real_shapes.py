"""The app's defaults on real shapes: train on the ModelNet10 training file, score a held-out
split.

Unpacks ``modelnet10_train_32.npz`` (research use only; never commit it) with its own
``unpack.py`` into WORK, holds out 10 % of each class (seed 2026) as WORK/holdout, trains
``main.py train --data WORK/train`` with the defaults plus any extra flags (its own validation
split comes out of WORK/train), then runs ``main.py evaluate`` on WORK/holdout with 500 prior
samples and 500 samples of the density fitted to the training codes, and once more with the
codes refined (``--refine``, default 30 steps; 0 leaves it out). Prints the settings the run
decided from the data, the curve (validation IoU and Var(mu) per epoch and minute) and the
reports.

    python -m benchmarks.real_shapes [--epochs 20] [--refine 30] [--work /tmp/real_shapes]
        [-- FLAGS...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "modelnet10_train_32.npz"
HOLDOUT_SHARE = 0.1
HOLDOUT_SEED = 2026


def split_folder(source: Path, work: Path) -> tuple[Path, Path]:
    """WORK/train and WORK/holdout: each class folder of ``source`` split 90 / 10 (moved)."""
    train, holdout = work / "train", work / "holdout"
    rng = np.random.default_rng(HOLDOUT_SEED)
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.npy"))
        held = max(1, round(HOLDOUT_SHARE * len(files)))
        for k, i in enumerate(rng.permutation(len(files))):
            dest = (holdout if k < held else train) / folder.name
            dest.mkdir(parents=True, exist_ok=True)
            shutil.move(files[i], dest / files[i].name)
    return train, holdout


def prepared(npz: Path, work: Path) -> tuple[Path, Path]:
    """The train and holdout folders, unpacked and split the first time."""
    if (work / "train").is_dir() and (work / "holdout").is_dir():
        return work / "train", work / "holdout"
    if not npz.is_file():
        sys.exit(f"error: {npz} is missing (the ModelNet10 training file)")
    unpacked = work / "unpacked"
    subprocess.run([sys.executable, str(npz.with_name("unpack.py")), str(unpacked)], check=True,
                   stdout=subprocess.DEVNULL)
    folders = split_folder(unpacked, work)
    shutil.rmtree(unpacked)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npz", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/real_shapes"))
    parser.add_argument("--epochs", type=int, default=None, help="default: the app's default")
    parser.add_argument("--refine", type=int, default=30, help="refinement steps (0: none)")
    parser.add_argument("flags", nargs="*", help="more `train` flags, after --")
    args = parser.parse_args()
    train, holdout = prepared(args.npz, args.work)
    run, metrics = args.work / "run.pt", args.work / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    main_py = [sys.executable, str(ROOT / "main.py")]
    subprocess.run([*main_py, "train", "--data", str(train), "--checkpoint", str(run),
                    "--metrics", str(metrics), *epochs, *args.flags], check=True)
    print("\nepoch  minutes  val IoU  Var(mu)")
    for line in metrics.read_text().splitlines():
        r = json.loads(line)
        print(f"{r['epoch']:5d}  {r['elapsed_s'] / 60:7.1f}  {r['val_iou']:7.3f}  "
              f"{r['mu_var']:7.2f}")
    for sampler in ("prior", "fitted"):
        print(f"\nheld-out shapes ({holdout}), {sampler} samples:", flush=True)
        subprocess.run([*main_py, "evaluate", str(run), "--data", str(holdout), "--samples",
                        "500", "--sampler", sampler], check=True)
    if args.refine:
        print(f"\nheld-out shapes, codes refined by {args.refine} steps:", flush=True)
        subprocess.run([*main_py, "evaluate", str(run), "--data", str(holdout), "--samples",
                        "0", "--refine", str(args.refine)], check=True)


if __name__ == "__main__":
    main()
