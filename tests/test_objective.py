"""The objective against torch.distributions, and the reparameterisation's statistics."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from trainer.model import reparameterise
from trainer.objective import kl_to_standard_normal, negative_elbo, reconstruction_nll


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 7, dtype=torch.float64), torch.randn(5, 7, dtype=torch.float64)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(dim=1)
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), expected)


def test_kl_is_zero_only_at_the_prior():
    zeros = torch.zeros(1, 3)
    assert kl_to_standard_normal(zeros, zeros).item() == 0.0
    assert kl_to_standard_normal(zeros + 0.1, zeros).item() > 0.0


def test_bernoulli_nll_matches_torch_distributions():
    torch.manual_seed(1)
    logits = torch.randn(3, 1, 4, 4, 4, dtype=torch.float64)
    target = (torch.rand(3, 1, 4, 4, 4) > 0.5).double()
    expected = -Bernoulli(logits=logits).log_prob(target).flatten(1).sum(dim=1)
    torch.testing.assert_close(reconstruction_nll(logits, target, "bernoulli"), expected)


def test_gaussian_nll_is_sum_of_squared_errors_of_unit_variance_gaussian():
    torch.manual_seed(2)
    out, target = torch.randn(2, 1, 4, 4, 4, dtype=torch.float64), torch.rand(2, 1, 4, 4, 4)
    target = target.double()
    sse = reconstruction_nll(out, target, "gaussian")
    nll = -Normal(out, 1.0).log_prob(target).flatten(1).sum(dim=1)
    const = 0.5 * math.log(2 * math.pi) * 64
    torch.testing.assert_close(sse, 2 * (nll - const))


def test_reparameterisation_has_the_posterior_moments():
    mu = torch.tensor([[1.5, -2.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]])
    z = reparameterise(mu, logvar, samples=200_000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (200_000, 3)
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(0), logvar[0].exp(), atol=0.03, rtol=0.02)


def test_reparameterisation_passes_gradients_to_mu_and_logvar():
    mu = torch.zeros(2, 3, requires_grad=True)
    logvar = torch.zeros(2, 3, requires_grad=True)
    reparameterise(mu, logvar, 2).pow(2).sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert logvar.grad.abs().sum() > 0


def test_negative_elbo_averages_samples_then_shapes():
    torch.manual_seed(3)
    target = (torch.rand(2, 1, 4, 4, 4) > 0.5).float()
    logits = torch.randn(6, 1, 4, 4, 4)  # L = 3 samples, sample-major
    mu, logvar = torch.randn(2, 5), torch.randn(2, 5)
    terms = negative_elbo(logits, target, mu, logvar, "bernoulli", beta=0.5)
    per_sample = reconstruction_nll(logits, target.repeat(3, 1, 1, 1, 1), "bernoulli")
    recon = per_sample.view(3, 2).mean(0)
    kl = kl_to_standard_normal(mu, logvar)
    assert terms.loss.item() == pytest.approx((recon + 0.5 * kl).mean().item(), rel=1e-6)
    assert terms.recon == pytest.approx(recon.mean().item(), rel=1e-6)
    assert terms.kl == pytest.approx(kl.mean().item(), rel=1e-6)


def test_free_bits_clamp_the_batch_mean_kl_per_dimension():
    torch.manual_seed(4)
    target = (torch.rand(4, 1, 4, 4, 4) > 0.5).float()
    logits = torch.randn(4, 1, 4, 4, 4)
    mu = torch.zeros(4, 3)
    mu[:, 0] = 2.0     # KL 2 nats in dimension 0, 0.005 in dimension 1, 0 in dimension 2
    mu[:, 1] = 0.1
    mu.requires_grad_(True)
    logvar = torch.zeros(4, 3, requires_grad=True)
    lam = 0.5
    terms = negative_elbo(logits, target, mu, logvar, "bernoulli", beta=2.0, free_bits=lam)
    recon = reconstruction_nll(logits, target, "bernoulli").mean()
    assert terms.loss.item() == pytest.approx(recon.item() + 2.0 * (2.0 + lam + lam), rel=1e-6)
    assert terms.kl == pytest.approx(2.0 + 0.005, rel=1e-5)   # the reported KL is not clamped
    terms.loss.backward()
    assert (mu.grad[:, 0] != 0).all()                          # above the floor: pushed down
    assert (mu.grad[:, 1:] == 0).all() and (logvar.grad[:, 1:] == 0).all()


def test_free_bits_zero_is_the_plain_objective():
    torch.manual_seed(5)
    target = (torch.rand(2, 1, 4, 4, 4) > 0.5).float()
    logits, mu, logvar = torch.randn(2, 1, 4, 4, 4), torch.randn(2, 5), torch.randn(2, 5)
    plain = negative_elbo(logits, target, mu, logvar, "bernoulli", beta=0.5)
    floor = negative_elbo(logits, target, mu, logvar, "bernoulli", beta=0.5, free_bits=1e-9)
    assert plain.loss.item() == pytest.approx(floor.loss.item(), rel=1e-6)
