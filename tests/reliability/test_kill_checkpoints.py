"""kill -9 during checkpoint writes: the file on disk is always whole, and --resume goes on.

The long loop is scripts/kill_checkpoint_loop.py; here a short run of it plus a kill that is
certain to land inside a write.
"""

from __future__ import annotations

import fcntl
import importlib.util
import multiprocessing
import os
import sys
import time
from pathlib import Path

import pytest
import torch

from trainer import atomic
from trainer.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.model import VAE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kill_checkpoint_loop.py"
CONFIG = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16))


def _load_script():
    spec = importlib.util.spec_from_file_location("kill_checkpoint_loop", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _ckpt(epoch: int) -> Checkpoint:
    weights = VAE.from_config(CONFIG).state_dict()
    for tensor in weights.values():
        tensor.fill_(epoch)
    return Checkpoint(config=CONFIG, model_state=weights, epoch=epoch)


def _save_then_hang(path: Path, ready_fd: int) -> None:
    """In a forked child: write checkpoint 2, and stop just before the fsync and rename."""
    def hang(_fd: int) -> None:
        os.write(ready_fd, b"x")
        time.sleep(600)   # until killed

    atomic.os.fsync = hang   # the child's own copy of the module
    save_checkpoint(path, _ckpt(2))


def test_a_kill_inside_a_write_keeps_the_previous_checkpoint(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "m.pt", _ckpt(1))
    before = path.read_bytes()
    read_fd, write_fd = os.pipe()
    child = multiprocessing.get_context("fork").Process(target=_save_then_hang,
                                                        args=(path, write_fd))
    child.start()
    assert os.read(read_fd, 1) == b"x"   # checkpoint 2 is written, not yet renamed
    stale = sorted(tmp_path.glob(".m.pt.*.tmp"))
    assert len(stale) == 1 and stale[0].stat().st_size > 0
    child.kill()
    child.join()
    os.close(read_fd)
    os.close(write_fd)

    assert path.read_bytes() == before and load_checkpoint(path).epoch == 1
    assert stale[0].exists()
    save_checkpoint(path, _ckpt(4))   # the next write removes the dead writer's temp file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    assert load_checkpoint(path).epoch == 4


def test_a_live_writers_temp_file_is_never_removed(tmp_path) -> None:
    live = tmp_path / ".m.pt.live.tmp"
    dead = tmp_path / ".m.pt.dead.tmp"
    unrelated = tmp_path / ".other.pt.x.tmp"
    for p in (live, dead, unrelated):
        p.write_bytes(b"partial")
    with live.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        save_checkpoint(tmp_path / "m.pt", _ckpt(1))
        assert live.exists() and not dead.exists() and unrelated.exists()


@pytest.mark.timeout(240)
def test_short_kill_loop_finds_no_corrupt_checkpoint_and_resume_continues(tmp_path) -> None:
    """5 checkpoint writers and 1 `main.py train` killed at random moments, then --resume."""
    loop = _load_script()
    result = loop.run_loop(tmp_path, runs=6, train_every=6, seed=1)
    assert result.corrupt == [], result.summary()
    assert (result.writer_runs, result.train_runs) == (5, 1)
    start, end = result.final_epochs
    assert start >= 1 and end == start + 1   # resumed from the killed run's checkpoint
    ckpt = load_checkpoint(tmp_path / "train.pt")
    assert [r.epoch for r in ckpt.history] == list(range(1, end + 1))
    assert not list(tmp_path.glob(".train.pt.*.tmp"))   # resumed runs removed stale ones
    assert len(list(tmp_path.glob(".writer.pt.*.tmp"))) <= 1   # at most the last kill's
    assert torch.isfinite(ckpt.model_state["to_mu.weight"]).all()
