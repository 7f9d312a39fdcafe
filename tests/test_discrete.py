"""Categorical latents: Gumbel-softmax samples, the KL to the uniform prior, the model."""

import math

import pytest
import torch

from trainer.config import TrainConfig
from trainer.discrete import categorical_kl, gumbel_noise, gumbel_softmax, mode_code
from trainer.model import CategoricalVAE


def test_gumbel_softmax_lies_on_the_simplex_and_hardens_as_the_temperature_falls():
    torch.manual_seed(0)
    logits = torch.randn(64, 5, 6)
    noise = gumbel_noise(logits.shape, torch.Generator().manual_seed(1))
    largest = []
    for temperature in (5.0, 1.0, 0.3, 0.05, 0.01, 0.0005):
        y = gumbel_softmax(logits, noise, temperature)
        assert (y >= 0).all()
        torch.testing.assert_close(y.sum(-1), torch.ones(64, 5))
        largest.append(float(y.max(-1).values.mean()))
    assert largest == sorted(largest)          # sharper at every lower temperature
    assert largest[0] < 0.5 and largest[-1] > 0.999
    # the limit is the one-hot of argmax(logits + g): the Gumbel-max trick
    hard = torch.nn.functional.one_hot((logits + noise).argmax(-1), 6).float()
    torch.testing.assert_close(gumbel_softmax(logits, noise, 1e-4), hard, atol=1e-3, rtol=0)


def test_gumbel_max_samples_follow_the_categorical_distribution():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits = probs.log().expand(200_000, 4)
    noise = gumbel_noise(logits.shape, torch.Generator().manual_seed(2))
    counts = gumbel_softmax(logits, noise, 1e-3).argmax(-1).bincount(minlength=4)
    torch.testing.assert_close(counts / 200_000, probs, atol=0.005, rtol=0)


def test_straight_through_is_one_hot_forward_with_soft_gradients():
    logits = torch.randn(3, 2, 4, requires_grad=True)
    noise = gumbel_noise(logits.shape, torch.Generator().manual_seed(3))
    y = gumbel_softmax(logits, noise, 1.0, hard=True)
    assert set(y.detach().unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(y.detach().sum(-1), torch.ones(3, 2))
    (y * torch.arange(4.0)).sum().backward()
    soft = torch.softmax((logits + noise) / 1.0, dim=-1)
    expected, = torch.autograd.grad((soft * torch.arange(4.0)).sum(), logits)
    torch.testing.assert_close(logits.grad, expected)


def test_categorical_kl_matches_a_direct_computation():
    torch.manual_seed(4)
    logits = torch.randn(5, 3, 7, dtype=torch.float64)
    q = torch.softmax(logits, -1)
    direct = torch.zeros(5, 3, dtype=torch.float64)
    for b in range(5):
        for k in range(3):
            direct[b, k] = sum(q[b, k, c] * math.log(q[b, k, c] * 7) for c in range(7))
    torch.testing.assert_close(categorical_kl(logits), direct)
    uniform = torch.distributions.Categorical(probs=torch.full((7,), 1 / 7, dtype=torch.float64))
    library = torch.distributions.kl_divergence(torch.distributions.Categorical(logits=logits),
                                                uniform)
    torch.testing.assert_close(categorical_kl(logits), library)
    assert categorical_kl(torch.zeros(1, 1, 7)).item() == pytest.approx(0.0, abs=1e-7)
    assert categorical_kl(torch.tensor([[[100.0, 0, 0, 0]]])).item() == pytest.approx(math.log(4))


def test_categorical_vae_shapes_and_mode_codes():
    config = TrainConfig(resolution=16, latent_dim=3, categorical_classes=5, latent="categorical",
                         pose="none", channels=(2, 4, 4, 8))
    model = CategoricalVAE.from_config(config)
    assert model.latent_dim == config.code_dim == 15
    y = torch.rand(2, 1, 16, 16, 16)
    logits, q = model(y, samples=2, temperature=0.5)
    assert logits.shape == (4, 1, 16, 16, 16) and q.shape == (2, 3, 5)
    code = mode_code(q)
    assert code.shape == (2, 15)
    torch.testing.assert_close(code.view(2, 3, 5).sum(-1), torch.ones(2, 3))
    assert model.decode(code).shape == (2, 1, 16, 16, 16)
