"""bf16 autocast for CPU training: its speed, and why the trainer does not offer it.

This CPU has AVX512-BF16, so oneDNN runs bf16 convolutions natively. The script times one
training step of the default 32^3 network in fp32 and under ``torch.autocast("cpu",
torch.bfloat16)`` (loss in fp32, weights in fp32), then trains the default network at 16^3
under bf16 and reports the first step whose gradients are not finite, and which parameters.

    python -m benchmarks.bf16_cpu [--steps 400]
"""

from __future__ import annotations

import argparse
import time

import torch

from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.model import VAE
from trainer.objective import negative_elbo
from trainer.perf import MEMORY_FORMAT, tune_allocator


def _step(model: VAE, optimizer: torch.optim.Optimizer, y: torch.Tensor, bf16: bool) -> list[str]:
    """One optimisation step; returns the names of parameters whose gradient is not finite."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits, mu, logvar = model(y)
    terms = negative_elbo(logits.float(), y, mu.float(), logvar.float(), "bernoulli", 1.0, 0.0)
    optimizer.zero_grad()
    terms.loss.backward()
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    if not bad:
        optimizer.step()
    return bad


def throughput(bf16: bool, batch: int = 8, steps: int = 15) -> float:
    torch.manual_seed(0)
    model = VAE(32, 16, (16, 32, 64, 128)).to(memory_format=MEMORY_FORMAT)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    y = (torch.rand(batch, 1, 32, 32, 32) > 0.9).float().contiguous(memory_format=MEMORY_FORMAT)
    for _ in range(3):
        _step(model, optimizer, y, bf16)
    start = time.perf_counter()
    for _ in range(steps):
        _step(model, optimizer, y, bf16)
    return batch * steps / (time.perf_counter() - start)


def first_bad_step(steps: int) -> tuple[int, list[str]] | None:
    config = TrainConfig(resolution=16, batch_size=8, dataset_size=200)
    data = torch.from_numpy(load_shapes(config).grids).float()
    torch.manual_seed(0)
    model = VAE.from_config(config).to(memory_format=MEMORY_FORMAT)
    optimizer = torch.optim.Adam(model.parameters(), config.lr)
    for step in range(steps):
        y = data[torch.randint(0, len(data), (8,))].contiguous(memory_format=MEMORY_FORMAT)
        bad = _step(model, optimizer, y, bf16=True)
        if bad:
            return step, bad
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="bf16 steps to train at 16^3")
    args = parser.parse_args()
    tune_allocator()
    print(f"native bf16 on this CPU: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
    fp32, bf16 = throughput(False), throughput(True)
    print(f"32^3 batch 8 training step: fp32 {fp32:.1f}, bf16 {bf16:.1f} samples/s "
          f"({bf16 / fp32:.2f}x)")
    bad = first_bad_step(args.steps)
    if bad is None:
        print(f"16^3 default network, bf16: {args.steps} steps, all gradients finite")
    else:
        print(f"16^3 default network, bf16: non-finite gradients at step {bad[0]} in "
              f"{', '.join(bad[1])}")


if __name__ == "__main__":
    main()
