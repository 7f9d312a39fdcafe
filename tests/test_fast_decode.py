"""The compiled decoder: same grids as eager decoding, used once ready, eager when it fails."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from explorer import fast_decode
from explorer.session import ExplorerSession
from trainer.config import TrainConfig
from trainer.grid_values import GridValues
from trainer.kernels import transposed_decoder
from trainer.model import VAE

COMPILE_TIMEOUT_S = 240
COMPILED_CONVS = {"mkldnn::_convolution_pointwise",   # BatchNorm and activation folded in
                  "mkldnn::_convolution_transpose_pointwise"}
needs_toolchain = pytest.mark.skipif(
    fast_decode.missing_toolchain() is not None,
    reason=f"TorchInductor cannot build CPU kernels: {fast_decode.missing_toolchain()}")


@pytest.fixture(autouse=True)
def compile_allowed(monkeypatch):
    monkeypatch.setenv(fast_decode.ENV_SWITCH, "1")
    monkeypatch.setattr(fast_decode, "_failure_logged", threading.Event())


def _session(likelihood: str = "bernoulli", seed: int = 0) -> ExplorerSession:
    config = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16),
                         likelihood=likelihood)
    torch.manual_seed(seed)
    model = VAE.from_config(config)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so that folding them matters
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return ExplorerSession(model, config)


def _codes(n: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, 12))


@needs_toolchain
def test_compiled_decoding_matches_eager_and_is_used_once_ready():
    # Two models of one architecture (frozen weights must not leak from one to the other).
    sessions = {(1, 3): _session("bernoulli", seed=0), (1,): _session("gaussian", seed=1)}
    expected = {sizes: [s.decode(_codes(n)) for n in sizes] for sizes, s in sessions.items()}
    for sizes, session in sessions.items():
        session.compile_decoder(sizes)
    for sizes, session in sessions.items():
        assert session.compiled.wait(COMPILE_TIMEOUT_S), "compiling took too long"
        assert session.compiled.error is None
        assert all(session.compiled.ready(n) for n in sizes)
        for n, grids in zip(sizes, expected[sizes], strict=True):
            decoded, convolutions = _decode_profiled(session, _codes(n))
            assert convolutions == COMPILED_CONVS
            np.testing.assert_allclose(decoded, grids, rtol=1e-3, atol=1e-4)
    # One code (Q,), a stride-0 row after np.atleast_2d, still runs the compiled kernels.
    decoded, convolutions = _decode_profiled(sessions[(1,)], _codes(1)[0])
    assert convolutions == COMPILED_CONVS
    np.testing.assert_allclose(decoded, expected[(1,)][0][0], rtol=1e-3, atol=1e-4)
    # A batch size that was not compiled decodes eagerly.
    assert not COMPILED_CONVS & _decode_profiled(sessions[(1,)], _codes(2))[1]


def test_the_depthwise_sum_output_layer_computes_the_convolution():
    conv = torch.nn.Conv3d(5, 1, 3, padding=1)
    x = torch.randn(2, 5, 6, 7, 8)
    with torch.no_grad():
        torch.testing.assert_close(fast_decode._DepthwiseSum(conv)(x), conv(x), rtol=1e-5,
                                   atol=1e-5)


def test_batch_norms_fold_into_the_transposed_convolutions():
    torch.manual_seed(0)
    model = _session().model.eval()   # decoder stages 16 -> 8 -> 8 -> 4 -> 4 channels
    copy = transposed_decoder(model.decoder).eval()
    folded = fast_decode._fold_batch_norms(copy)
    assert not any(isinstance(layer, torch.nn.BatchNorm3d) for layer in folded)
    h = torch.randn(2, 16, 1, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(folded(h), model.decoder(h), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("resolution", [16, 32])
def test_the_rewritten_decoder_computes_the_same_grids_eagerly(resolution):
    # The linear layer from z composed with the first transposed convolution, BatchNorm
    # folded, the depthwise output layer: the module that gets compiled, run as it is.
    torch.manual_seed(resolution)
    config = TrainConfig(resolution=resolution, latent_dim=5, channels=(4, 8, 8, 16))
    model = VAE.from_config(config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    model.eval()
    fast = fast_decode._FastDecode(model, GridValues("identity", 0.5, False, (0.0, 1.0))).eval()
    assert isinstance(fast.start, torch.nn.Linear) and fast.start.in_features == 5
    assert not any(isinstance(m, torch.nn.ConvTranspose3d) and m.in_channels == 16
                   for m in fast.rest)   # the 16 -> 8 stage went into the linear layer
    z = torch.randn(3, 5)
    with torch.no_grad():
        torch.testing.assert_close(fast(z), model.decode(z), rtol=1e-4, atol=1e-4)


def test_a_failing_compile_is_logged_once_and_decoding_stays_eager(monkeypatch, caplog):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(torch, "compile", broken_compile)
    session, other = _session(), _session(seed=1)
    expected = session.decode(_codes(1)[0])
    with caplog.at_level(logging.WARNING, logger=fast_decode.__name__):
        for s in (session, other):
            assert s.compile_decoder((1,)).wait(COMPILE_TIMEOUT_S)
    assert "no compiler today" in session.compiled.error
    assert not session.compiled.ready(1)
    assert len(caplog.records) == 1 and "decoding eagerly" in caplog.text
    np.testing.assert_array_equal(session.decode(_codes(1)[0]), expected)


def test_an_error_in_a_compiled_call_falls_back_to_eager(monkeypatch):
    session = _session()
    expected = session.decode(_codes(1)[0])
    decoder = fast_decode.CompiledDecoder(session.model, (1,), session.grid)
    decoder._ready, decoder._compiled = frozenset({1}), _crash   # as if compiled
    session.compiled = decoder
    np.testing.assert_array_equal(session.decode(_codes(1)[0]), expected)
    assert not decoder.ready(1) and decoder.error == "RuntimeError: kernel crashed"


def test_compilation_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(fast_decode.ENV_SWITCH, "0")
    session = _session()
    assert session.compile_decoder((1,)) is None
    assert session.compiled is None


def _decode_profiled(session: ExplorerSession, codes: np.ndarray) -> tuple[np.ndarray, set[str]]:
    """Decode ``codes``; also return the names of the convolution operators that ran."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        grids = session.decode(codes)
    return grids, {event.key for event in prof.key_averages() if "conv" in event.key}


def _crash(*args, **kwargs):
    raise RuntimeError("kernel crashed")


def test_a_cancelled_compile_builds_no_further_sizes():
    session = _session()
    decoder = fast_decode.CompiledDecoder(session.model, (1, 3), session.grid)
    decoder.cancel()
    assert decoder.start().wait(COMPILE_TIMEOUT_S)
    assert not decoder.ready(1) and not decoder.ready(3) and decoder.error is None


EXIT_WHILE_COMPILING = """
import time
from explorer.session import ExplorerSession
from trainer.config import TrainConfig
from trainer.model import VAE
config = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16))
ExplorerSession(VAE.from_config(config), config).compile_decoder((1, 3))
time.sleep(1.5)  # into the compile: exiting right at its start did not crash
"""


@needs_toolchain
def test_the_process_exits_cleanly_while_the_decoder_compiles():
    """Exiting during a compile crashed the interpreter's teardown (segfault or abort) when the
    compile thread was a daemon; now exiting waits for it."""
    result = subprocess.run([sys.executable, "-c", EXIT_WHILE_COMPILING], capture_output=True,
                            text=True, timeout=COMPILE_TIMEOUT_S,
                            env={**os.environ, fast_decode.ENV_SWITCH: "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "terminate called" not in result.stderr


def test_every_model_compiles_through_a_code_object_of_its_own():
    """TorchDynamo compiles one code object at most recompile_limit times: the forward each
    model compiles through must not be shared, or later models stop compiling."""
    first, second = _session(seed=0), _session(seed=1)
    fast = [fast_decode._FastDecode(s.model.eval(), s.grid).eval() for s in (first, second)]
    forwards = [fast_decode._own_forward(f) for f in fast]
    assert forwards[0].__code__ is not forwards[1].__code__
    assert forwards[0].__code__ is not type(fast[0]).forward.__code__
    z = torch.from_numpy(_codes(2)).float()
    with torch.no_grad():
        for module, forward in zip(fast, forwards, strict=True):
            torch.testing.assert_close(forward(z), module(z))
