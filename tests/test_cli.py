"""The command line end to end on a tiny config, and its one-line errors."""

import json

import pytest
import trimesh
from safetensors.torch import load_file

from explorer.cli import main

TINY = ["--resolution", "16", "--latent-dim", "4", "--batch-size", "8", "--dataset-size", "30",
        "--epochs", "2", "--seed", "1"]


@pytest.fixture
def tiny_config_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text("channels = [4, 8, 8, 16]\n")
    return path


def test_train_info_sample_export(tmp_path, tiny_config_file, capsys):
    ckpt, metrics = tmp_path / "run" / "m.pt", tmp_path / "m.jsonl"
    assert main(["train", "--config", str(tiny_config_file), *TINY, "--checkpoint", str(ckpt),
                 "--metrics", str(metrics)]) == 0
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert {"val_iou", "mu_mean", "mu_var", "logvar_mean", "active_units"} <= set(lines[0])

    assert main(["info", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "epoch 2" in out and "latent_dim" in out and "IoU" in out

    assert main(["train", "--resume", str(ckpt), "--epochs", "3", "--checkpoint", str(ckpt),
                 "--metrics", str(metrics)]) == 0
    assert [json.loads(x)["epoch"] for x in metrics.read_text().splitlines()] == [1, 2, 3]

    out_dir = tmp_path / "samples"
    assert main(["sample", str(ckpt), "--n", "3", "--out", str(out_dir), "--format", "obj",
                 "--threshold", "0.2"]) == 0
    for path in out_dir.iterdir():
        assert trimesh.load(path, force="mesh").faces.shape[0] > 0

    weights = tmp_path / "w.safetensors"
    assert main(["export-weights", str(ckpt), str(weights)]) == 0
    assert "to_mu.weight" in load_file(weights)


@pytest.mark.parametrize("argv, words", [
    (["train", "--resolution", "20"], "resolution must be one of"),
    (["train", "--lr", "-1"], "lr must be in"),
    (["info", "missing.pt"], "no such checkpoint"),
    (["sample", "missing.pt"], "no such checkpoint"),
])
def test_errors_are_one_line_and_non_zero(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and words in err and "\n" not in err


def test_resume_refuses_changed_settings(tmp_path, tiny_config_file, capsys):
    ckpt = tmp_path / "m.pt"
    assert main(["train", "--config", str(tiny_config_file), *TINY, "--epochs", "1",
                 "--checkpoint", str(ckpt)]) == 0
    assert main(["train", "--resume", str(ckpt), "--latent-dim", "8"]) == 2
    assert "cannot change latent_dim when resuming" in capsys.readouterr().err


def test_foreign_checkpoint_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00junk" * 20)
    assert main(["info", str(bad)]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
