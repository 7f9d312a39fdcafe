"""Data-parallel training with DistributedDataParallel, launched by `torchrun`.

`Ranks` is this process's place in a run. The default, `Ranks()`, is a single process: every
method is then the identity and no collective runs, so a plain run computes exactly what it
computed before data parallelism existed.

How a distributed run divides the work (see docs/distributed.md):
- `batch_size` stays the global batch. Every rank draws the same seeded permutation per epoch,
  cuts it into the same global batches and takes its contiguous share of each, so ranks see
  disjoint shapes and the same number of steps; the learning-rate schedule is unchanged.
- Every rank draws the reparameterisation noise of the whole global batch from the same generator
  and uses its share, so the noise generator's state is the same on all ranks (one state in the
  checkpoint resumes all of them) and each shape gets the noise a single process would give it.
- Each rank's loss is weighted by its share of the global batch; DDP averages the gradients, so
  the step follows the gradient of the global batch mean even when shares differ by one.
- Validation runs on rank 0 over the whole validation set (exact, no reduction needed) and the
  report is broadcast; rank 0 alone writes checkpoints and logs.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from trainer.device import resolve_device
from trainer.errors import ConfigError

T = TypeVar("T")

RANK_STATE_ENV = "SHAPE_EXPLORER_RANK_STATE_DIR"
"""When set, every rank saves its weights after each epoch in this folder (to check agreement)."""


@dataclass(frozen=True)
class Ranks:
    """This process's rank among `world_size` processes (`local_rank` on its machine)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Ranks:
        """Read torchrun's RANK, WORLD_SIZE and LOCAL_RANK; without them a single process."""
        if "WORLD_SIZE" not in env:
            return cls()
        try:
            ranks = cls(int(env.get("RANK", "0")), int(env["WORLD_SIZE"]),
                        int(env.get("LOCAL_RANK", "0")))
        except ValueError as exc:
            raise ConfigError(f"malformed torchrun environment: {exc}") from exc
        if not 0 <= ranks.rank < ranks.world_size or ranks.local_rank < 0:
            raise ConfigError(f"malformed torchrun environment: RANK={ranks.rank}, "
                              f"WORLD_SIZE={ranks.world_size}, LOCAL_RANK={ranks.local_rank}")
        return ranks

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that validates, logs and writes checkpoints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    def device(self, spec: str) -> torch.device:
        """The device for `--device spec`; under torchrun a GPU run uses cuda:LOCAL_RANK."""
        device = resolve_device(spec)
        if not self.is_distributed or device.type != "cuda":
            return device
        if ":" in spec:
            raise ConfigError(f"--device {spec} names one GPU, but under torchrun each process "
                              "uses cuda:LOCAL_RANK; pass --device cuda")
        return resolve_device(f"cuda:{self.local_rank}")

    def shard(self, n: int) -> slice:
        """This rank's contiguous share of a global batch of `n` (sizes differ by at most 1)."""
        base, extra = divmod(n, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def loss_weight(self, n_local: int, n_global: int) -> float:
        """Factor on this rank's mean loss so that DDP's gradient average is the global mean's."""
        return n_local * self.world_size / n_global

    def any(self, flag: bool) -> bool:
        """True on every rank when `flag` is true on any rank (e.g. a stop request)."""
        if not self.is_distributed:
            return flag
        value = torch.tensor([float(flag)], device=_collective_device())
        dist.all_reduce(value)
        return bool(value.item() > 0)

    def batch_means(self, means: Sequence[float], n_local: int) -> tuple[float, ...]:
        """Per-rank means over `n_local` shapes -> the means over the global batch."""
        if not self.is_distributed:
            return tuple(means)
        values = torch.tensor([*(m * n_local for m in means), n_local], dtype=torch.float64,
                              device=_collective_device())
        dist.all_reduce(values)
        total = values.tolist()
        return tuple(v / total[-1] for v in total[:-1])

    def from_main(self, value: T) -> T:
        """Rank 0's `value` on every rank (a small picklable object)."""
        if not self.is_distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    @torch.no_grad()
    def sync_buffers(self, model: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
        if self.is_distributed:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def wrap(self, model: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
        """The module to train: `model` itself, or a DDP wrapper sharing its parameters.

        With `sync_bn` the BatchNorm layers become SyncBatchNorm (in place), which torch
        supports only on GPUs: on CPU it is refused.
        """
        check_sync_bn(sync_bn, device)
        if not self.is_distributed:
            return model
        if sync_bn:
            nn.SyncBatchNorm.convert_sync_batchnorm(model)
        gpus = [device] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=gpus)


SINGLE_PROCESS = Ranks()


def check_sync_bn(sync_bn: bool, device: torch.device) -> None:
    """Refuse SyncBatchNorm off CUDA: PyTorch implements it for GPUs only."""
    if sync_bn and device.type != "cuda":
        raise ConfigError("--sync-bn needs CUDA (PyTorch's SyncBatchNorm runs only on GPUs); "
                          "on CPU each process normalises its own share of the batch")

@contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[None]:
    """Join torchrun's process group for the duration (nccl on CUDA, gloo on CPU)."""
    if not ranks.is_distributed:
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                            rank=ranks.rank, world_size=ranks.world_size)
    try:
        yield
    finally:
        # Free what still holds the group (the DDP wrapper sits in a reference cycle with the
        # trainer) before destroying it: left to interpreter exit, gloo's threads are torn
        # down unjoined and the rank dies with SIGABRT about one run in ten.
        gc.collect()
        dist.destroy_process_group()


def save_rank_state(folder: str | Path, ranks: Ranks, epoch: int,
                    state: dict[str, torch.Tensor]) -> Path:
    """Write this rank's weights after `epoch` as `rank{R}-epoch{E}.pt` (a diagnostic)."""
    path = Path(folder) / f"rank{ranks.rank}-epoch{epoch}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def _collective_device() -> torch.device:
    """Where tensors for collectives live: the current GPU for nccl, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
