"""Device and precision choice, torchrun environment parsing and batch sharding (one process)."""

import math

import pytest
import torch

from explorer.cli import main
from explorer.session import ExplorerSession
from trainer.checkpoint import load_checkpoint
from trainer.device import amp_dtype, describe_devices, device_choices, resolve_device
from trainer.distributed import Ranks, check_sync_bn
from trainer.errors import ConfigError
from trainer.loop import Trainer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (this machine has none)")


@pytest.fixture
def two_gpus(monkeypatch):
    """Pretend two GPUs are present: resolution logic only, nothing runs on them."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("spec, expected", [
    ("cpu", "cpu"), (" CPU ", "cpu"), ("auto", "cuda:0"), ("cuda", "cuda:0"),
    ("cuda:1", "cuda:1"), (torch.device("cuda", 1), "cuda:1"),
])
def test_resolves_specs(two_gpus, spec, expected):
    assert resolve_device(spec) == torch.device(expected)


def test_auto_is_cpu_without_a_gpu(no_gpu):
    assert resolve_device("auto") == torch.device("cpu")
    assert device_choices() == ("auto", "cpu")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cpu:0", "cuda:-1", "", "mps", "auto:0"])
def test_malformed_specs_are_refused(spec):
    with pytest.raises(ConfigError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device(spec)


def test_missing_gpu_is_a_clear_error(no_gpu):
    with pytest.raises(ConfigError, match=r"requested but .*use --device cpu"):
        resolve_device("cuda")


def test_gpu_index_out_of_range(two_gpus):
    with pytest.raises(ConfigError, match="cuda:2 does not exist: 2 GPU"):
        resolve_device("cuda:2")
    assert device_choices() == ("auto", "cpu", "cuda:0", "cuda:1")


def test_mixed_precision_only_on_cuda():
    cpu = torch.device("cpu")
    assert amp_dtype("off", cpu) is None
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        amp_dtype("bf16", cpu)
    with pytest.raises(ConfigError, match="amp must be one of"):
        amp_dtype("fp8", cpu)


def test_sync_bn_refused_on_cpu():
    check_sync_bn(False, torch.device("cpu"))
    with pytest.raises(ConfigError, match="--sync-bn needs CUDA"):
        check_sync_bn(True, torch.device("cpu"))


def test_describe_devices_names_cpu_and_cuda():
    text = describe_devices()
    assert text.startswith("cpu: ") and "cuda" in text


def test_torchrun_environment():
    assert Ranks.from_env({}) == Ranks(0, 1, 0)
    ranks = Ranks.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert ranks == Ranks(3, 4, 1) and ranks.is_distributed and not ranks.is_main
    for bad in ({"WORLD_SIZE": "two"}, {"RANK": "2", "WORLD_SIZE": "2"}):
        with pytest.raises(ConfigError, match="malformed torchrun environment"):
            Ranks.from_env(bad)


def test_each_rank_uses_its_local_gpu(two_gpus):
    assert Ranks(3, 4, 1).device("auto") == torch.device("cuda", 1)
    assert Ranks(3, 4, 1).device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="each process uses cuda:LOCAL_RANK"):
        Ranks(3, 4, 1).device("cuda:0")


@pytest.mark.parametrize("n, world", [(8, 2), (7, 2), (9, 4), (16, 3)])
def test_shards_cover_the_global_batch_disjointly(n, world):
    shares = [Ranks(r, world).shard(n) for r in range(world)]
    assert [i for s in shares for i in range(n)[s]] == list(range(n))
    sizes = [s.stop - s.start for s in shares]
    assert max(sizes) - min(sizes) <= 1
    # DDP averages the ranks' gradients; with the loss weights that is the global batch mean
    means = [1.0 + 3 * r for r in range(world)]
    weighted = [Ranks(r, world).loss_weight(size, n) * m
                for r, (size, m) in enumerate(zip(sizes, means, strict=True))]
    assert sum(weighted) / world == pytest.approx(
        sum(size * m for size, m in zip(sizes, means, strict=True)) / n)


def test_global_batch_too_small_for_the_processes(tiny_config, tiny_split):
    with pytest.raises(ConfigError, match="at least 2 shapes per process"):
        Trainer(tiny_config.with_overrides(batch_size=6), *tiny_split, ranks=Ranks(0, 4))


@pytest.mark.parametrize("argv, words", [
    (["train", "--device", "gpu"], "device must be"),
    (["train", "--device", "cpu", "--amp", "bf16"], "mixed precision (bf16) needs a CUDA"),
    (["train", "--device", "cpu", "--sync-bn"], "--sync-bn needs CUDA"),
    (["sample", "missing.pt", "--device", "tpu"], "device must be"),
])
def test_cli_device_errors(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and words in err and "\n" not in err


@needs_cuda
@pytest.mark.parametrize("amp", ["off", "bf16", "fp16"])
def test_trains_on_cuda_and_loads_on_cpu(tiny_config, tiny_split, tmp_path, amp):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    trainer = Trainer(tiny_config, *tiny_split, device="cuda", amp=amp,
                      checkpoint_path=tmp_path / "gpu.pt")
    assert trainer.run() is True
    assert next(trainer.model.parameters()).is_cuda
    report = trainer.history[-1]
    assert math.isfinite(report.train_loss) and math.isfinite(report.val_loss)
    ckpt = load_checkpoint(tmp_path / "gpu.pt")  # map_location="cpu"
    assert all(v.device.type == "cpu" for v in ckpt.model_state.values())
    on_cpu = ExplorerSession.from_checkpoint(ckpt, device="cpu")
    on_gpu = ExplorerSession.from_checkpoint(ckpt, device="cuda")
    z = torch.randn(3, tiny_config.latent_dim).numpy()
    torch.testing.assert_close(torch.from_numpy(on_gpu.decode(z)),
                               torch.from_numpy(on_cpu.decode(z)), rtol=1e-3, atol=1e-3)


@needs_cuda
def test_resume_a_cuda_checkpoint_on_cpu(tiny_config, tiny_split, tmp_path):
    Trainer(tiny_config.with_overrides(epochs=1), *tiny_split, device="cuda",
            checkpoint_path=tmp_path / "c.pt").run()
    resumed = Trainer(tiny_config, *tiny_split, device="cpu",
                      resume_from=load_checkpoint(tmp_path / "c.pt"))
    assert resumed.run() is True and resumed.epoch == 2
