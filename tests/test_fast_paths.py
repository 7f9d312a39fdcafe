"""The fast paths compute what the plain ones compute: channels-last training, and the decoder's
transposed convolutions in place of nearest upsampling + Conv3d."""

import pytest
import torch
import torch.nn.functional as F

from trainer.kernels import (
    decoder_forward,
    encoder_forward,
    one_channel_conv3d,
    transposed_decoder,
    upsample_conv3d,
)
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


def test_upsample_conv_is_nearest_upsampling_then_convolution():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, 3, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, dtype=torch.float64, requires_grad=True)
    fast = upsample_conv3d(x, weight, bias)
    plain = F.conv3d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)
    torch.testing.assert_close(fast, plain)
    out_grad = torch.randn_like(plain)
    for a, b in zip(torch.autograd.grad(fast, (x, weight, bias), out_grad),
                    torch.autograd.grad(plain, (x, weight, bias), out_grad), strict=True):
        torch.testing.assert_close(a, b)


def test_one_channel_conv_is_the_plain_convolution():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 6, 6, dtype=torch.float64, requires_grad=True)
    conv = torch.nn.Conv3d(5, 1, 3, padding=1).double()
    out_grad = torch.randn(2, 1, 6, 6, 6, dtype=torch.float64)
    fast = one_channel_conv3d(x, conv.weight, conv.bias)
    plain = conv(x)
    torch.testing.assert_close(fast, plain)
    params = (x, conv.weight, conv.bias)
    for a, b in zip(torch.autograd.grad(fast, params, out_grad),
                    torch.autograd.grad(plain, params, out_grad), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("channels_last", [False, True])
def test_decoder_matches_its_layers_run_one_by_one(channels_last):
    """The decoder's fused forward (transposed convolutions) against its listed layers (nearest
    upsampling, Conv3d, ...): same logits and same parameter gradients, in training mode."""
    torch.manual_seed(0)
    model = VAE(32, 4, (4, 8, 8, 16))
    if channels_last:
        model.to(memory_format=MEMORY_FORMAT)
    h = model.from_z(torch.randn(3, 4)).view(3, 16, 2, 2, 2).detach()
    out_grad = torch.randn(3, 1, 32, 32, 32)
    params = list(model.decoder.parameters())
    layouts = []
    model.decoder[-2].register_forward_hook(   # the last ReLU: 4 channels at 32^3
        lambda _m, _i, out: layouts.append(out.is_contiguous(memory_format=MEMORY_FORMAT)))
    fast = decoder_forward(model.decoder, h)
    fast_grads = torch.autograd.grad(fast, params, out_grad)
    plain = model.decoder(h)
    plain_grads = torch.autograd.grad(plain, params, out_grad)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-5)
    for a, b in zip(fast_grads, plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    assert layouts[0] == channels_last   # a channels-last model keeps the faster layout


def test_decoder_never_builds_the_upsampled_grid():
    model = VAE(16, 4, (4, 8, 8, 16))
    calls = []
    for layer in model.decoder:
        if isinstance(layer, torch.nn.Upsample):
            layer.register_forward_hook(lambda *_: calls.append(1))
    model.decode(torch.randn(2, 4))
    assert calls == []


def test_transposed_decoder_decodes_like_the_decoder():
    torch.manual_seed(0)
    model = VAE(16, 4, (4, 8, 8, 16)).eval()
    copy = transposed_decoder(model.decoder)
    assert not any(isinstance(layer, torch.nn.Upsample) for layer in copy)
    h = torch.randn(2, 16, 1, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(copy(h), model.decoder(h),
                                   rtol=1e-4, atol=1e-5)


def _encoder_step(model: VAE, y: torch.Tensor, plain: bool) -> tuple[torch.Tensor, list, int]:
    """Encode in training mode and backpropagate; returns the features, the parameter
    gradients and the bytes autograd kept for the backward pass."""
    kept = []

    def pack(t):
        kept.append(t.untyped_storage().nbytes())
        return t

    model.zero_grad()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        h = model.encoder(y) if plain else encoder_forward(model.encoder, y)
    h.square().sum().backward()
    return h.detach(), [p.grad.clone() for p in model.encoder.parameters()], sum(kept)


def test_encoder_recomputes_its_first_stage_at_64_cubed():
    torch.manual_seed(0)
    model = VAE(64, 4, (4, 4, 8, 8)).train()
    twin = VAE(64, 4, (4, 4, 8, 8)).train()
    twin.load_state_dict(model.state_dict())
    y = (torch.rand(2, 1, 64, 64, 64) > 0.6).float()
    h_fast, grads_fast, kept_fast = _encoder_step(model, y, plain=False)
    h_plain, grads_plain, kept_plain = _encoder_step(twin, y, plain=True)
    torch.testing.assert_close(h_fast, h_plain)
    for a, b in zip(grads_fast, grads_plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # BatchNorm statistics updated once, as by the plain forward.
    for a, b in zip(model.encoder.buffers(), twin.encoder.buffers(), strict=True):
        torch.testing.assert_close(a, b)
    full_resolution = 2 * 4 * 64**3 * 4   # one activation of the first stage, bytes
    assert kept_plain - kept_fast >= 2 * full_resolution
