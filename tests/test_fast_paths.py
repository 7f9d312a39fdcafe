"""The channels-last training path computes what the plain contiguous path computes."""

import torch

from trainer.model import VAE
from trainer.objective import negative_elbo
from trainer.perf import MEMORY_FORMAT, tune_allocator


def _loss_and_grads(model: VAE, y: torch.Tensor) -> tuple[float, dict[str, torch.Tensor]]:
    logits, mu, logvar = model(y, 1, torch.Generator().manual_seed(0))
    terms = negative_elbo(logits, y, mu, logvar, "bernoulli", 1.0)
    model.zero_grad()
    terms.loss.backward()
    return terms.loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_channels_last_matches_contiguous():
    torch.manual_seed(0)
    plain = VAE(16, 4, (4, 8, 8, 16))
    fast = VAE(16, 4, (4, 8, 8, 16))
    fast.load_state_dict(plain.state_dict())
    fast.to(memory_format=MEMORY_FORMAT)
    y = (torch.rand(4, 1, 16, 16, 16) > 0.6).float()
    loss_plain, grads_plain = _loss_and_grads(plain, y)
    loss_fast, grads_fast = _loss_and_grads(fast, y.contiguous(memory_format=MEMORY_FORMAT))
    assert abs(loss_fast - loss_plain) <= 1e-4 * abs(loss_plain)
    for name, grad in grads_plain.items():
        torch.testing.assert_close(grads_fast[name], grad, rtol=1e-3, atol=1e-4)


def test_allocator_tuning_reports_success_on_glibc():
    assert tune_allocator() is True
