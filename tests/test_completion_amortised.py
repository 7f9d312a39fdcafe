"""Amortised completion: the encoder trains on a tiny set (its loss goes down), reports every
epoch, stops when asked, resumes exactly, and its file round-trips and belongs to one VAE."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from trainer.completion.amortised import (
    CompletionConfig,
    CompletionTrainer,
    amortised_codes,
    completion_path,
)
from trainer.completion.encoder_file import load_completion, load_encoder, save_completion
from trainer.completion.observation import simulate
from trainer.data.procedural import make_procedural
from trainer.errors import CheckpointError, ConfigError
from trainer.model import VAE
from trainer.schedules import FINAL_LR_FRACTION

D = 16


@pytest.fixture(scope="module")
def shapes():
    return make_procedural(24, D, 4).split(0.25, 0)


def tiny_vae(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(D, 4, (4, 8, 8, 8)).eval()


def settings(**changes) -> CompletionConfig:
    return CompletionConfig(epochs=3, batch_size=6, lr=5e-3, channels=(4, 8, 8, 8),
                            kinds=("single-view", "cut"), prior_pool=40,
                            seed=1).with_overrides(**changes)


def test_the_completion_encoder_learns_on_a_tiny_set(shapes, tmp_path):
    train, val = shapes
    reports, saved = [], []
    trainer = CompletionTrainer(tiny_vae(), settings(epochs=4, prior_weight=0.0), train, val,
                                on_report=reports.append, save=saved.append)
    assert trainer.run()
    assert [r.epoch for r in reports] == [1, 2, 3, 4]
    assert reports[-1].train_loss < 0.8 * reports[0].train_loss
    assert reports[-1].val_loss < reports[0].val_loss
    assert len(saved) == 4 and saved[-1].epoch == 4
    # the learning rate decays along a cosine towards its floor at the last step
    rates = [r.lr for r in reports]
    assert rates == sorted(rates, reverse=True) and rates[0] < 5e-3
    assert 5e-3 * FINAL_LR_FRACTION <= rates[-1] < 0.1 * 5e-3
    path = save_completion(tmp_path / "run.completion.pt", saved[-1])
    encoder = load_encoder(path, tiny_vae())
    observations = [simulate("cut", g, np.random.default_rng(0)) for g in val.grids[:, 0]]
    codes = amortised_codes(encoder, observations)
    assert codes.shape == (len(val), 4)
    np.testing.assert_allclose(codes, amortised_codes(saved[-1].build_encoder(), observations))


def test_scans_of_prior_samples_teach_the_encoder_their_codes(shapes):
    train, val = shapes
    reports, progress = [], []
    trainer = CompletionTrainer(tiny_vae(), settings(epochs=6, prior_weight=50.0, lr=1e-2),
                                train, val, on_report=reports.append,
                                on_progress=progress.append)
    assert trainer.run()
    assert len(trainer._prior) > 20
    drawing = [p for p in progress if p.epoch == 0]    # the pool's drawing is reported first
    assert drawing and progress[:len(drawing)] == drawing
    assert {p.batches for p in drawing} == {40} and all(np.isnan(p.loss) for p in drawing)
    assert all(r.train_prior > 0 for r in reports)
    assert reports[-1].train_prior < 0.7 * reports[0].train_prior
    # half the epochs on the prior's scans alone, then the observed-voxels likelihood joins
    assert [r.train_nll > 0 for r in reports] == [False] * 3 + [True] * 3
    without = CompletionTrainer(tiny_vae(), settings(epochs=1, prior_weight=0.0), train, val)
    assert without.run() and without._prior is None
    assert without.history[0].train_prior == 0


def test_stop_and_exact_resume(shapes):
    train, val = shapes
    whole = CompletionTrainer(tiny_vae(), settings(), train, val)
    whole.run()
    states = []
    first = CompletionTrainer(tiny_vae(), settings(), train, val, save=states.append,
                              on_report=lambda r: first.stop() if r.epoch == 1 else None)
    assert not first.run()
    assert first.epoch == 1
    resumed = CompletionTrainer(tiny_vae(), settings(), train, val, resume_from=states[-1])
    assert resumed.run()
    for name, value in whole.encoder.state_dict().items():
        assert torch.allclose(value, resumed.encoder.state_dict()[name], atol=1e-5), name


def test_pause_holds_training_until_resumed(shapes):
    train, val = shapes
    trainer = CompletionTrainer(tiny_vae(), settings(epochs=1), train, val)
    batches = []

    def on_progress(p):
        if p.epoch == 0:                          # scans of prior samples being drawn
            return
        batches.append(p.batch)
        if p.batch == 1:
            trainer.pause()
            threading.Timer(0.3, trainer.resume).start()

    trainer.on_progress = on_progress
    assert trainer.run()
    assert batches == list(range(1, batches[-1] + 1)) and batches[-1] > 1


def test_a_completion_encoder_belongs_to_its_vae(shapes, tmp_path):
    train, val = shapes
    trainer = CompletionTrainer(tiny_vae(), settings(epochs=1), train, val)
    trainer.run()
    path = save_completion(completion_path(tmp_path / "model.pt"), trainer.state())
    assert path.name == "model.completion.pt"
    with pytest.raises(CheckpointError, match="another model"):
        load_completion(path, tiny_vae(seed=1))
    (tmp_path / "bad.completion.pt").write_bytes(b"not a file")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_completion(tmp_path / "bad.completion.pt")


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="kinds"):
        CompletionConfig(kinds=("lidar",))
    with pytest.raises(ConfigError, match="kl_weight"):
        CompletionConfig(kl_weight=-1.0)


def test_the_observed_frame_encoder_starts_from_the_observations_principal_pose():
    from trainer.completion.amortised import CompletionEncoder, observation_channels
    from trainer.pose import POSE_DIMS, pose_code, principal_pose

    torch.manual_seed(0)
    encoder = CompletionEncoder(D, 12, (4, 8, 8, 8), observed_frame=True).eval()
    with torch.no_grad():
        encoder.to_mu.weight.zero_()
        encoder.to_mu.bias.zero_()
    grid = np.zeros((D, D, D), dtype=bool)
    grid[3:12, 5:9, 6:10] = True
    observation = simulate("single-view", grid, np.random.default_rng(0), (30.0, 20.0))
    x = observation_channels([observation])
    mu, _ = encoder(x)
    rotation, centroid = principal_pose(x[:, :1])
    torch.testing.assert_close(mu[:, :POSE_DIMS], pose_code(rotation, centroid))
    assert torch.equal(mu[:, POSE_DIMS:], torch.zeros(1, 12 - POSE_DIMS))


def test_the_frame_follows_the_vae_and_old_files_keep_the_grid_frame(shapes, tmp_path):
    train, val = shapes
    plain = CompletionTrainer(tiny_vae(), settings(epochs=1), train, val)
    assert plain.config.frame == "grid" and not plain.encoder.observed_frame
    torch.manual_seed(0)
    posed = VAE(D, 12, (4, 8, 8, 8), pose=True).eval()
    trainer = CompletionTrainer(posed, settings(epochs=1), train, val)
    assert trainer.config.frame == "observed" and trainer.encoder.observed_frame
    trainer.run()
    path = save_completion(tmp_path / "posed.completion.pt", trainer.state())
    assert load_encoder(path, posed).observed_frame
    raw = torch.load(path, weights_only=True)
    raw["version"] = 1
    del raw["config"]["frame"]
    torch.save(raw, path)
    assert not load_encoder(path, posed).observed_frame
