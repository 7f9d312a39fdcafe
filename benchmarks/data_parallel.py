"""Training throughput of one process vs N data-parallel processes (torchrun) on this machine.

Each run is `main.py train` in a fresh process on the same procedural data; the figure is the
training samples/s of the last epoch from the JSONL log (validation excluded; the first epoch
warms up). Threads: one process gets all cores, each of N processes gets cores / N.

    python -m benchmarks.data_parallel [--processes 2] [--resolution 32] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def samples_per_s(processes: int, threads: int, train_args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "m.jsonl"
        launcher = [sys.executable]
        if processes > 1:
            launcher += ["-m", "torch.distributed.run", "--standalone",
                         f"--nproc_per_node={processes}"]
        done = subprocess.run([*launcher, str(ROOT / "main.py"), "train", *train_args,
                               "--checkpoint", str(Path(tmp) / "m.pt"), "--metrics", str(metrics)],
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{processes} process(es) failed:\n{done.stderr[-4000:]}")
        return json.loads(metrics.read_text().splitlines()[-1])["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dataset-size", type=int, default=480)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    train_args = ["--resolution", str(args.resolution), "--batch-size", str(args.batch_size),
                  "--dataset-size", str(args.dataset_size), "--epochs", "2",
                  "--device", args.device]
    cores = os.cpu_count() or 1
    one = samples_per_s(1, cores, train_args)
    many = samples_per_s(args.processes, max(1, cores // args.processes), train_args)
    print(f"{cores} cores, {args.resolution}^3, global batch {args.batch_size}, {args.device}")
    print(f"1 process  x {cores} threads: {one:7.1f} samples/s")
    print(f"{args.processes} processes x {max(1, cores // args.processes)} threads: "
          f"{many:7.1f} samples/s  ({many / one:.2f}x)")


if __name__ == "__main__":
    main()
