"""Kill -9 processes while they write checkpoints; count the corrupt checkpoints left behind.

    nice -n 19 python scripts/kill_checkpoint_loop.py --runs 60 --train-every 6

Two kinds of victims take turns:

- a *checkpoint writer*: a process forked from this one that saves checkpoints of a tiny model
  back to back with the app's `save_checkpoint` (checkpoint k: epoch k, every weight equal to k),
  reporting each finished save through a pipe; it spends most of its time inside a write, so
  a random kill usually lands in one;
- a *training process*: `python main.py train` on a tiny configuration (`--resume` from the last
  one's checkpoint after the first), killed at a random moment after it wrote a checkpoint.

After every kill the checkpoint on disk must load with the app's loader and be whole: for a
writer, the last checkpoint it reported or the one it was writing (epoch and weights agree);
for training, a run whose history has one report per epoch, no earlier than before. At most one
stale temp file (the killed write's) may lie beside it: the next write removes it. Finally a
training run resumes to its end with `--resume`, continuing the history without a gap.

Prints the number of runs and of corrupt checkpoints found, and exits with status 1 if any was.
The CI test tests/reliability/test_kill_checkpoints.py runs a short version.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.checkpoint import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.errors import CheckpointError  # noqa: E402
from trainer.model import VAE  # noqa: E402

TINY = TrainConfig(resolution=16, latent_dim=4, channels=(4, 8, 8, 16), batch_size=8,
                   dataset_size=40, seed=1, epochs=10_000)
WRITER = TrainConfig(resolution=16, latent_dim=8, channels=(8, 16, 32, 64), epochs=100_000)
"""The writers' model: a 0.6 MB checkpoint, so that writing takes most of a writer's time."""
TRAIN_FLAGS = ["--resolution", "16", "--latent-dim", "4", "--batch-size", "8",
               "--dataset-size", "40", "--seed", "1"]
_RECORD = struct.Struct("<q")
_TRAIN_START_TIMEOUT_S = 120.0


@dataclass
class LoopResult:
    """What a kill loop saw."""

    writer_runs: int = 0
    train_runs: int = 0
    killed_mid_write: int = 0   # kills that left a temp file: the process died inside a write
    resumed: int = 0            # training runs started with --resume
    final_epochs: tuple[int, int] | None = None   # the last resume: from epoch, to epoch
    corrupt: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return self.writer_runs + self.train_runs

    def summary(self) -> str:
        lines = [f"runs: {self.runs} ({self.writer_runs} checkpoint writers, {self.train_runs} "
                 f"training processes), killed during a write: {self.killed_mid_write}, "
                 f"corrupt checkpoints found: {len(self.corrupt)}"]
        if self.final_epochs is not None:
            lines.append(f"resumed with --resume {self.resumed} times; the last run continued "
                         f"from epoch {self.final_epochs[0]} to {self.final_epochs[1]}")
        lines += [f"  corrupt: {c}" for c in self.corrupt]
        return "\n".join(lines)


def run_loop(folder: Path, runs: int, train_every: int, seed: int = 0,
             log=None) -> LoopResult:
    """`runs` kills; every `train_every`-th victim is a training process (0: none)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    result = LoopResult()
    writer = _WriterVictims(folder / "writer.pt")
    trainer = _TrainingVictims(folder / "train.pt", folder)
    for run in range(1, runs + 1):
        if train_every and run % train_every == 0:
            problem = trainer.kill_once(rng, result)
        else:
            problem = writer.kill_once(rng, result)
        if problem:
            result.corrupt.append(f"run {run}: {problem}")
        if log is not None:
            log(f"run {run}/{runs}: {problem or 'ok'}")
    if result.train_runs:
        problem = trainer.finish(result)
        if problem:
            result.corrupt.append(f"final resume: {problem}")
    return result


def temp_files(path: Path) -> list[Path]:
    """The temp files of unfinished writes to `path` (see trainer.checkpoint)."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


# --- checkpoint writers ---------------------------------------------------------------------------
class _WriterVictims:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.last = -1   # epoch of the newest checkpoint known to be complete on disk
        torch.manual_seed(0)
        self.weights = VAE.from_config(WRITER).state_dict()

    def kill_once(self, rng: random.Random, result: LoopResult) -> str | None:
        result.writer_runs += 1
        read_fd, write_fd = os.pipe()
        context = multiprocessing.get_context("fork")
        process = context.Process(target=_write_forever,
                                  args=(self.path, self.last + 1, self.weights, write_fd))
        process.start()
        os.close(write_fd)
        time.sleep(rng.uniform(0.02, 0.3))
        process.kill()
        process.join()
        reported = _read_records(read_fd)
        os.close(read_fd)
        newest = reported[-1] if reported else self.last
        temps = temp_files(self.path)
        result.killed_mid_write += bool(temps)
        if len(temps) > 1:
            return f"{len(temps)} stale temp files accumulated: {[t.name for t in temps]}"
        if newest < 0 and not self.path.exists():
            return None  # killed before its first save ended: nothing to check yet
        try:
            ckpt = load_checkpoint(self.path)
        except CheckpointError as exc:
            return f"writer checkpoint does not load: {exc}"
        if ckpt.epoch not in (newest, newest + 1):
            return (f"writer checkpoint holds epoch {ckpt.epoch}; expected the last saved "
                    f"({newest}) or the one being written ({newest + 1})")
        mixed = [name for name, t in ckpt.model_state.items() if not bool((t == ckpt.epoch).all())]
        if mixed:
            return f"epoch {ckpt.epoch} checkpoint holds weights of another save: {mixed[:3]}"
        self.last = ckpt.epoch
        return None


def _write_forever(path: Path, epoch: int, weights: dict[str, torch.Tensor], fd: int) -> None:
    """In the forked child: save checkpoints epoch, epoch + 1, ... until killed."""
    torch.set_num_threads(1)
    while True:
        for tensor in weights.values():
            tensor.fill_(epoch)
        save_checkpoint(path, Checkpoint(config=WRITER, model_state=weights, epoch=epoch))
        os.write(fd, _RECORD.pack(epoch))   # 8 bytes: one atomic pipe write
        epoch += 1


def _read_records(fd: int) -> list[int]:
    data = b""
    while chunk := os.read(fd, 1 << 16):
        data += chunk
    whole = len(data) - len(data) % _RECORD.size
    return [_RECORD.unpack_from(data, i)[0] for i in range(0, whole, _RECORD.size)]


# --- training processes --------------------------------------------------------------------------
class _TrainingVictims:
    def __init__(self, path: Path, folder: Path) -> None:
        self.path = path
        self.config_file = folder / "tiny.toml"
        self.config_file.write_text(f"channels = {list(TINY.channels)}\n")
        self.log = folder / "train.log"
        self.epoch = 0   # the checkpoint's epoch after the last kill

    def _command(self, epochs: int) -> list[str]:
        main = [sys.executable, str(ROOT / "main.py"), "train"]
        if self.path.exists():
            return [*main, "--resume", str(self.path), "--epochs", str(epochs),
                    "--checkpoint", str(self.path)]
        return [*main, "--config", str(self.config_file), *TRAIN_FLAGS, "--epochs", str(epochs),
                "--checkpoint", str(self.path)]

    def kill_once(self, rng: random.Random, result: LoopResult) -> str | None:
        result.train_runs += 1
        result.resumed += self.path.exists()
        before = self.path.stat().st_mtime_ns if self.path.exists() else None
        with self.log.open("ab") as log:
            process = subprocess.Popen(self._command(TINY.epochs), stdout=log, stderr=log,
                                       cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + _TRAIN_START_TIMEOUT_S
        while not self._saved_since(before):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                return f"training process wrote no checkpoint (exit {process.returncode}); " \
                       f"see {self.log}"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        result.killed_mid_write += bool(temp_files(self.path))
        if len(temp_files(self.path)) > 1:
            return f"stale temp files accumulated: {[t.name for t in temp_files(self.path)]}"
        return self._check(self.epoch)

    def _saved_since(self, mtime_ns: int | None) -> bool:
        """Whether a checkpoint was written since it had `mtime_ns` (None: none existed)."""
        try:
            return self.path.stat().st_mtime_ns != mtime_ns
        except FileNotFoundError:
            return False

    def _check(self, at_least: int) -> str | None:
        try:
            ckpt = load_checkpoint(self.path)
        except CheckpointError as exc:
            return f"training checkpoint does not load: {exc}"
        epochs = [r.epoch for r in ckpt.history]
        if epochs != list(range(1, ckpt.epoch + 1)):
            return f"epoch {ckpt.epoch} checkpoint has the history of epochs {epochs}"
        if ckpt.epoch < at_least:
            return f"checkpoint went back from epoch {at_least} to {ckpt.epoch}"
        if ckpt.optimizer_state is None:
            return f"epoch {ckpt.epoch} checkpoint lacks the optimiser state needed to resume"
        self.epoch = ckpt.epoch
        return None

    def finish(self, result: LoopResult) -> str | None:
        """Resume the killed run for one more epoch, to its end."""
        start = self.epoch
        with self.log.open("ab") as log:
            status = subprocess.call(self._command(start + 1), stdout=log, stderr=log, cwd=ROOT)
        result.resumed += 1
        if status != 0:
            return f"--resume exited with status {status}; see {self.log}"
        problem = self._check(start + 1)
        if problem is None and self.epoch != start + 1:
            problem = f"--resume from epoch {start} ended at epoch {self.epoch}"
        result.final_epochs = (start, self.epoch)
        return problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60, help="kills in all (default 60)")
    parser.add_argument("--train-every", type=int, default=6,
                        help="every N-th victim is a training process (0: none; default 6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folder", type=Path, help="where to write (default: a temp folder)")
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    if args.folder is None:
        import tempfile

        args.folder = Path(tempfile.mkdtemp(prefix="kill-loop-"))
    began = time.monotonic()
    result = run_loop(args.folder, args.runs, args.train_every, args.seed,
                      log=None if args.quiet else print)
    print(result.summary())
    print(f"({time.monotonic() - began:.0f} s, files in {args.folder})")
    return 1 if result.corrupt else 0


if __name__ == "__main__":
    sys.exit(main())
