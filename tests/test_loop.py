"""The Trainer: learning, reports, exact resume, NaN stop, pause and stop."""

import threading

import numpy as np
import pytest
import torch

from trainer.checkpoint import load_checkpoint
from trainer.data.shapeset import ShapeSet
from trainer.errors import TrainingError
from trainer.loop import Trainer


def test_reports_every_epoch_and_learns(tiny_config, tiny_split):
    config = tiny_config.with_overrides(epochs=4)
    reports, progress = [], []
    trainer = Trainer(config, *tiny_split, on_report=reports.append, on_progress=progress.append)
    assert trainer.run() is True
    assert [r.epoch for r in reports] == [1, 2, 3, 4]
    assert reports[-1].train_loss < reports[0].train_loss
    assert len(reports[-1].mu_var_per_dim) == config.latent_dim
    assert 0 <= reports[-1].val_iou <= 1 and 0 <= reports[-1].val_hamming <= 1
    assert progress[-1].batch == progress[-1].batches and progress[-1].epoch == 4
    assert trainer.history == reports


def test_resume_continues_exactly(tiny_config, tiny_split, tmp_path):
    straight = Trainer(tiny_config, *tiny_split)
    straight.run()

    first = Trainer(tiny_config, *tiny_split, checkpoint_path=tmp_path / "c.pt",
                    on_report=lambda r: first.stop())
    assert first.run() is False and first.epoch == 1
    ckpt = load_checkpoint(tmp_path / "c.pt")
    resumed = Trainer(tiny_config, *tiny_split, resume_from=ckpt)
    resumed.run()

    assert resumed.epoch == straight.epoch == 2
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)
    assert resumed.history[-1].val_loss == pytest.approx(straight.history[-1].val_loss)


def test_nan_loss_stops_with_message_and_keeps_last_good_weights(tiny_config, tiny_split):
    train, val = tiny_split
    grids = train.grids.astype(np.float32)
    grids[-1] = np.nan  # one corrupt shape (not in the first batch with this seed)
    poisoned = ShapeSet.__new__(ShapeSet)  # bypass validation: simulate corrupt data in memory
    object.__setattr__(poisoned, "grids", grids)
    object.__setattr__(poisoned, "labels", train.labels)
    object.__setattr__(poisoned, "class_names", train.class_names)
    snapshots = []
    trainer = Trainer(tiny_config, poisoned, val,
                      on_progress=lambda p: snapshots.append(trainer.model_state()))
    with pytest.raises(TrainingError, match="loss became nan"):
        trainer.run()
    assert snapshots, "some good batches ran before the bad one"
    for key, value in snapshots[-1].items():
        torch.testing.assert_close(trainer.model.state_dict()[key], value, equal_nan=False)


def test_pause_holds_batches_and_stop_ends_the_run(tiny_config, tiny_split):
    trainer = Trainer(tiny_config.with_overrides(epochs=50), *tiny_split)
    seen = []
    paused_once = threading.Event()

    def on_progress(p):
        seen.append(p)
        if len(seen) == 2:
            trainer.pause()
            paused_once.set()

    trainer.on_progress = on_progress
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("done", trainer.run()))
    thread.start()
    assert paused_once.wait(30)
    count = len(seen)
    thread.join(0.5)
    assert len(seen) == count and trainer.paused
    trainer.resume()
    trainer.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert result["done"] is False
    assert trainer.epoch < 50


def test_rejects_data_of_another_resolution(tiny_config, tiny_split):
    with pytest.raises(TrainingError, match="resolution"):
        Trainer(tiny_config.with_overrides(resolution=32), *tiny_split)
