"""Faults during training: NaN/inf, out of memory and a full disk stop the run with a message
and leave the last good checkpoint on disk, from which --resume goes on.

tests/test_loop.py covers a NaN loss keeping the last good weights in memory, and
tests/test_checkpoint.py a torch.save that raises; here the faults end to end.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path

import pytest
import torch

from explorer.cli import main
from trainer import atomic, families
from trainer import loop as loop_module
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.errors import CheckpointError, TrainingError
from trainer.loop import Trainer
from trainer.model import VAE

CONFIG = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16), batch_size=8,
                     epochs=3, dataset_size=30, seed=4)
FLAGS = ["--resolution", "16", "--latent-dim", "12", "--batch-size", "8", "--dataset-size", "30",
         "--seed", "4", "--epochs", "3"]
OOM = {
    "cuda": lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    "cpu": lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't "
                                "allocate memory: you tried to allocate 68719476736 bytes."),
    "python": MemoryError,
}


@pytest.fixture(scope="module")
def split():
    return load_shapes(CONFIG).split(CONFIG.val_fraction, CONFIG.seed)


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text("channels = [4, 8, 8, 16]\n")
    return path


class Fault:
    """Switched on after the first checkpoint is saved: epoch 1 is good, epoch 2 is not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        real_save = loop_module.save_checkpoint

        def save_then_arm(path, ckpt):
            result = real_save(path, ckpt)
            self.on = True
            return result

        monkeypatch.setattr(loop_module, "save_checkpoint", save_then_arm)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "Traceback" not in "\n".join(err)
    return err[-1]


def _assert_last_good(path: Path, epoch: int = 1) -> None:
    ckpt = load_checkpoint(path)
    assert ckpt.epoch == epoch and [r.epoch for r in ckpt.history] == list(range(1, epoch + 1))
    assert all(torch.isfinite(t).all() for t in ckpt.model_state.values())
    assert not list(path.parent.glob(".*.tmp"))


def test_nan_in_a_batch_stops_the_run_and_keeps_the_last_checkpoint(
        split, tmp_path, monkeypatch) -> None:
    fault = Fault(monkeypatch)
    to_device = Trainer._to_device

    def poisoned(self, grids):
        batch = to_device(self, grids)
        if fault.on and self.model.training:
            batch = batch.clone()
            batch.view(-1)[0] = float("nan")
        return batch

    monkeypatch.setattr(Trainer, "_to_device", poisoned)
    path = tmp_path / "run.pt"
    trainer = Trainer(CONFIG, *split, checkpoint_path=path)
    with pytest.raises(TrainingError, match="the loss became nan in epoch 2, batch 1"):
        trainer.run()
    assert trainer.epoch == 1
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    _assert_last_good(path)

    monkeypatch.undo()   # the data is fixed: the run resumes from its checkpoint
    resumed = Trainer(CONFIG, *split, checkpoint_path=path, resume_from=load_checkpoint(path))
    assert resumed.run() and load_checkpoint(path).epoch == 3


def test_an_infinite_loss_ends_the_cli_run_with_one_line(config_file, tmp_path, monkeypatch,
                                                          capsys) -> None:
    fault = Fault(monkeypatch)
    negative_elbo = families.negative_elbo

    def infinite(*args, **kwargs):
        terms = negative_elbo(*args, **kwargs)
        if fault.on and torch.is_grad_enabled():   # training, not validation
            return dataclasses.replace(terms, loss=terms.loss + float("inf"))
        return terms

    monkeypatch.setattr(families, "negative_elbo", infinite)
    path = tmp_path / "run.pt"
    assert main(["train", "--config", str(config_file), *FLAGS, "--checkpoint", str(path)]) == 2
    assert "training stopped: the loss became inf in epoch 2" in _one_line_error(capsys)
    _assert_last_good(path)


@pytest.mark.parametrize("kind", sorted(OOM))
@pytest.mark.parametrize("where", ["forward", "encode"])   # training / validation
def test_out_of_memory_is_a_message_and_the_checkpoint_stays(
        split, tmp_path, monkeypatch, kind, where) -> None:
    fault = Fault(monkeypatch)
    real = getattr(VAE, where)

    def exhausted(self, *args, **kwargs):
        if fault.on and (where == "encode") != torch.is_grad_enabled():
            raise OOM[kind]()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(VAE, where, exhausted)
    path = tmp_path / "run.pt"
    trainer = Trainer(CONFIG, *split, checkpoint_path=path)
    with pytest.raises(TrainingError, match=r"out of memory in epoch 2 on cpu \(batch size 8, "
                                            r"16\^3 grids.*try a smaller batch size"):
        trainer.run()
    _assert_last_good(path)


def test_out_of_memory_in_the_cli_is_one_line(config_file, tmp_path, monkeypatch,
                                              capsys) -> None:
    fault = Fault(monkeypatch)
    forward = VAE.forward

    def exhausted(self, *args, **kwargs):
        if fault.on:
            raise OOM["cpu"]()
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(VAE, "forward", exhausted)
    path = tmp_path / "run.pt"
    assert main(["train", "--config", str(config_file), *FLAGS, "--checkpoint", str(path)]) == 2
    assert "out of memory in epoch 2" in _one_line_error(capsys)
    _assert_last_good(path)


def test_other_runtime_errors_are_not_mistaken_for_out_of_memory(split, monkeypatch) -> None:
    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug, not memory")

    monkeypatch.setattr(VAE, "forward", broken)
    with pytest.raises(RuntimeError, match="a bug, not memory"):
        Trainer(CONFIG, *split).run()


def _full_disk(monkeypatch: pytest.MonkeyPatch, fault: Fault | None = None) -> None:
    """Temp files whose writes fail as on a full disk: their data goes to /dev/full."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    open_temp = atomic.open_temp

    def full_open_temp(path: Path) -> tuple[int, Path]:
        fd, name = open_temp(path)
        if fault is None or fault.on:
            os.close(fd)
            fd = os.open("/dev/full", os.O_WRONLY)
        return fd, name

    monkeypatch.setattr(atomic, "open_temp", full_open_temp)


def test_a_full_disk_leaves_the_previous_checkpoint(split, tmp_path, monkeypatch) -> None:
    trainer = Trainer(CONFIG.with_overrides(epochs=1), *split)
    trainer.run()
    path = save_checkpoint(tmp_path / "m.pt", trainer.checkpoint())
    before = path.read_bytes()
    _full_disk(monkeypatch)
    with pytest.raises(CheckpointError, match=f"cannot write {path}: No space left on device"):
        save_checkpoint(path, trainer.checkpoint())
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.pt"]


def test_a_full_disk_at_fsync_leaves_the_previous_checkpoint(split, tmp_path,
                                                             monkeypatch) -> None:
    trainer = Trainer(CONFIG.with_overrides(epochs=1), *split)
    trainer.run()
    path = save_checkpoint(tmp_path / "m.pt", trainer.checkpoint())
    before = path.read_bytes()

    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(path, trainer.checkpoint())
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.pt"]


def test_a_disk_that_fills_up_mid_run_ends_the_cli_run_with_one_line(
        config_file, tmp_path, monkeypatch, capsys) -> None:
    fault = Fault(monkeypatch)
    _full_disk(monkeypatch, fault)
    path = tmp_path / "run.pt"
    assert main(["train", "--config", str(config_file), *FLAGS, "--checkpoint", str(path)]) == 2
    assert f"error: cannot write {path}: No space left on device" == _one_line_error(capsys)
    _assert_last_good(path)
    monkeypatch.undo()   # space again: resume from the epoch-1 checkpoint
    assert main(["train", "--resume", str(path), "--checkpoint", str(path)]) == 0
    _assert_last_good(path, epoch=3)
