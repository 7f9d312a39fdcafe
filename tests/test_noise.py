"""Denoising VAE: the noise models, and a Trainer that corrupts inputs but keeps targets clean."""

import numpy as np
import pytest
import torch

from trainer import families, loop
from trainer.noise import corrupt, draw_noise

P = 0.1


def _grids(seed: int = 0) -> torch.Tensor:
    return (torch.rand(8, 1, 16, 16, 16, generator=torch.Generator().manual_seed(seed)) > 0.7
            ).float()


def test_flip_changes_voxels_at_rate_p_and_leaves_the_input_alone():
    y = _grids()
    before = y.clone()
    x = corrupt(y, "flip", P, draw_noise("flip", y.shape, torch.Generator().manual_seed(1)))
    torch.testing.assert_close(y, before)
    changed = x != y
    assert changed.float().mean().item() == pytest.approx(P, abs=0.01)
    torch.testing.assert_close(x[changed], 1 - y[changed])
    assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_dropout_clears_occupied_voxels_only():
    y = _grids(2)
    x = corrupt(y, "dropout", P, draw_noise("dropout", y.shape, torch.Generator().manual_seed(3)))
    assert (x <= y).all()
    occupied = y == 1
    assert (x[occupied] == 0).float().mean().item() == pytest.approx(P, abs=0.015)
    assert (x[~occupied] == 0).all()


def test_gaussian_adds_noise_of_the_given_deviation():
    y = _grids(4)
    x = corrupt(y, "gaussian", 0.3, draw_noise("gaussian", y.shape,
                                               torch.Generator().manual_seed(5)))
    residual = x - y
    assert residual.std().item() == pytest.approx(0.3, rel=0.03)
    assert abs(residual.mean().item()) < 0.01


@pytest.mark.parametrize("noise", ["flip", "dropout"])
def test_trainer_corrupts_inputs_and_scores_clean_targets(noise, tiny_config, tiny_split,
                                                          monkeypatch):
    train, val = tiny_split
    # no pose dimensions: the encoder's network sees the grids themselves, not their frames
    # and no mirror flips: the targets are the training grids as they are
    config = tiny_config.with_overrides(epochs=1, noise=noise, noise_level=P, pose="none",
                                        augment="none")
    trainer = loop.Trainer(config, train, val)
    inputs, targets, val_inputs = [], [], []

    def record_input(module, args):
        (inputs if module.training else val_inputs).append(args[0].detach().clone())

    def record_target(logits, target, *args, **kwargs):
        if trainer.model.training:
            targets.append(target.detach().clone())
        return original(logits, target, *args, **kwargs)

    original = families.negative_elbo
    monkeypatch.setattr(families, "negative_elbo", record_target)
    trainer.model.encoder.register_forward_pre_hook(record_input)
    trainer.run()

    clean = {g.tobytes() for g in train.grids.astype(np.float32)}
    assert len(inputs) == len(targets) > 0
    changed = total = 0
    for x, y in zip(inputs, targets, strict=True):
        assert all(g.numpy().tobytes() in clean for g in y)      # targets: clean training grids
        changed += int((x != y).sum())
        total += y.numel()
        if noise == "dropout":
            assert (x <= y).all()
    occupied = sum(int(y.sum()) for y in targets)
    rate = changed / (occupied if noise == "dropout" else total)
    assert rate == pytest.approx(P, abs=0.02)
    torch.testing.assert_close(torch.cat(val_inputs), torch.from_numpy(val.float_grids()))
