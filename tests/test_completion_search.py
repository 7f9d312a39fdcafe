"""Latent search (ML completion): it recovers a code it was given, reports every step, stops
when asked, and runs on a real (pose-aware) VAE."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trainer.completion.latent_search import SearchSettings, latent_search
from trainer.completion.metrics import iou
from trainer.completion.observation import simulate, voxel_centres
from trainer.model import VAE

D = 16


class SphereDecoder(nn.Module):
    """A decoder with a known inverse: code (x, y, z, r) -> a sphere centred at 0.3 (x, y, z)
    of radius 0.45 + 0.1 r, as logits rising 4 per voxel inwards."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("centres", torch.from_numpy(voxel_centres(D)).float().view(-1, 3))
        self.scale = nn.Parameter(torch.tensor(2.0 * D))

    def encode(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(len(y), self.latent_dim)
        return zeros, zeros

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        distance = (self.centres - 0.3 * z[:, None, :3]).norm(dim=-1)
        radius = 0.45 + 0.1 * z[:, 3, None]
        return (self.scale * (radius - distance)).view(-1, 1, D, D, D)


def test_search_recovers_a_code_it_was_given():
    decoder = SphereDecoder()
    truth = torch.tensor([[0.8, -0.5, 0.3, 0.6], [-0.6, 0.4, -0.2, -0.4]])
    with torch.no_grad():
        grids = (decoder.decode(truth) > 0).numpy()[:, 0]
    rng = np.random.default_rng(0)
    observations = [simulate("cut", g, rng, viewpoint=(40.0, 20.0)) for g in grids]
    codes = latent_search(decoder, observations,
                          SearchSettings(steps=150, candidates=8, restarts=2, lr=0.05,
                                         prior_weight=0.01))
    assert codes.shape == (2, 4)
    with torch.no_grad():
        found = (decoder.decode(torch.from_numpy(codes).float()) > 0).numpy()[:, 0]
    assert (iou(found, grids) > 0.9).all()
    np.testing.assert_allclose(codes, truth.numpy(), atol=0.15)


def test_search_reports_every_step_and_stops_when_asked():
    decoder = SphereDecoder()
    with torch.no_grad():
        grid = (decoder.decode(torch.tensor([[0.5, 0.0, 0.0, 0.0]])) > 0).numpy()[0, 0]
    observation = simulate("cut", grid, np.random.default_rng(0))
    seen: list[tuple[int, float]] = []

    def on_step(step: int, loss: float, best: np.ndarray) -> bool:
        assert best.shape == (1, 4)
        seen.append((step, loss))
        return step < 5

    codes = latent_search(decoder, [observation], SearchSettings(steps=50, candidates=4),
                          on_step=on_step)
    assert [s for s, _ in seen] == [1, 2, 3, 4, 5]
    losses = [loss for _, loss in seen]
    assert losses == sorted(losses, reverse=True)          # the best loss never rises
    assert codes.shape == (1, 4)


def test_search_runs_on_a_pose_aware_vae_and_leaves_it_untouched():
    torch.manual_seed(0)
    model = VAE(D, 12, (4, 8, 8, 8), pose=True).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grid = np.zeros((D, D, D), dtype=bool)
    grid[4:12, 5:11, 6:10] = True
    observation = simulate("single-view", grid, np.random.default_rng(0))
    start = np.zeros((1, 12))
    codes = latent_search(model, [observation], SearchSettings(steps=3, candidates=3),
                          initial_codes=start)
    assert codes.shape == (1, 12) and np.isfinite(codes).all()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
