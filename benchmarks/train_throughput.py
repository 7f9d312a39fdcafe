"""Training throughput: the project's Trainer vs a plain PyTorch baseline, same network and loss.

Each side runs in its own fresh subprocess (the allocator setting is process-wide), alternating
(baseline, project, project, baseline, ...) on the same procedural data. Prints samples/s and
peak resident memory per run, then the best of each side and their ratio.

The project runs the baseline's network (``--pose none``, the default here); ``--pose moments``
runs the app's default network instead, which also resamples each shape into its own frame and
the logits back (trainer.pose): more work per step than the baseline does. ``--compile`` wraps
the project's model in ``torch.compile`` (TorchInductor) to check whether compiling the
training step pays off here; timing then starts after two epochs, so that the compilations for
training and for validation are not counted.

    python -m benchmarks.train_throughput [--resolution 32] [--batch-size 16] [--rounds 2]
                                          [--pose none|moments] [--compile]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CHANNELS = (16, 32, 64, 128)
LATENT = 16
WARMUP_STEPS = 3


def _shapes(resolution: int, n: int):
    from trainer.data.procedural import make_procedural

    return make_procedural(n, resolution, seed=0)


def run_baseline(resolution: int, batch: int, seconds: float) -> float:
    import torch

    from benchmarks.baseline_vae import PlainVAE, loss_fn

    data = torch.from_numpy(_shapes(resolution, 256).float_grids())
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data),
                                         batch_size=batch, shuffle=True, drop_last=True)
    model = PlainVAE(resolution, LATENT, CHANNELS)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps, start = 0, None
    while True:
        for (y,) in loader:
            logits, mu, logvar = model(y)
            loss = loss_fn(logits, y, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            if steps == WARMUP_STEPS:
                start = time.perf_counter()
            if start and time.perf_counter() - start > seconds:
                return (steps - WARMUP_STEPS) * batch / (time.perf_counter() - start)


def run_project(resolution: int, batch: int, seconds: float, pose: str = "none",
                compiled: bool = False) -> float:
    from trainer.config import TrainConfig
    from trainer.loop import Trainer
    from trainer.perf import tune_allocator

    tune_allocator()
    config = TrainConfig(resolution=resolution, latent_dim=LATENT, channels=CHANNELS,
                         batch_size=batch, epochs=1000, pose=pose)
    train, val = _shapes(resolution, 256).split(0.05, 0)
    state = {"steps": 0, "start": None, "rate": 0.0}
    # compiled: from the first step of epoch 3 (both epochs end with a smaller batch, and the
    # validation in between compiles the eval-mode graph)
    warmup = 2 * -(-len(train) // batch) + 1 if compiled else WARMUP_STEPS

    def on_progress(_):
        state["steps"] += 1
        now = time.perf_counter()
        if state["steps"] == warmup:
            state["start"] = now
        elif state["start"] and now - state["start"] > seconds:
            state["rate"] = (state["steps"] - warmup) * batch / (now - state["start"])
            trainer.stop()

    trainer = Trainer(config, train, val, on_progress=on_progress)
    if compiled:
        trainer.model.compile()
    trainer.run()
    return state["rate"]


def _worker(kind: str, args: argparse.Namespace) -> None:
    if kind == "baseline":
        rate = run_baseline(args.resolution, args.batch_size, args.seconds)
    else:
        rate = run_project(args.resolution, args.batch_size, args.seconds, args.pose,
                           args.compile)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samples_per_s": rate, "peak_rss_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs per side, alternating; the best of each side is compared "
                             "(robust to other load on the machine)")
    parser.add_argument("--pose", choices=("none", "moments"), default="none",
                        help="the project's network: the baseline's (none) or the app's "
                             "default with pose dimensions (moments)")
    parser.add_argument("--compile", action="store_true",
                        help="compile the project's model with torch.compile")
    parser.add_argument("--worker", choices=("baseline", "project"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args)
        return
    results: dict[str, list[dict]] = {"baseline": [], "project": []}
    for i in range(args.rounds):
        for kind in ("baseline", "project") if i % 2 == 0 else ("project", "baseline"):
            cmd = [sys.executable, "-m", "benchmarks.train_throughput", "--worker", kind,
                   "--resolution", str(args.resolution), "--batch-size", str(args.batch_size),
                   "--seconds", str(args.seconds), "--pose", args.pose,
                   *(["--compile"] if args.compile else [])]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            results[kind].append(r)
            print(f"round {i + 1} {kind:8} {args.resolution}^3 batch {args.batch_size}: "
                  f"{r['samples_per_s']:7.1f} samples/s, peak RSS {r['peak_rss_mb']:6.0f} MB",
                  flush=True)
    best = {kind: max(r["samples_per_s"] for r in runs) for kind, runs in results.items()}
    rss = {kind: max(r["peak_rss_mb"] for r in runs) for kind, runs in results.items()}
    for kind in results:
        print(f"{kind:8} best {best[kind]:7.1f} samples/s, peak RSS {rss[kind]:6.0f} MB")
    print(f"ratio project/baseline (best of {args.rounds}): "
          f"{best['project'] / best['baseline']:.2f}x")


if __name__ == "__main__":
    main()
