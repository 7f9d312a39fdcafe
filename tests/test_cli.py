"""The command line end to end on a tiny config, and its one-line errors."""

import json

import pytest
import trimesh
from safetensors.torch import load_file

from explorer.cli import main
from trainer.checkpoint import load_checkpoint

TINY = ["--resolution", "16", "--latent-dim", "12", "--batch-size", "8", "--dataset-size", "30",
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
    (["train", "--pose", "moments", "--latent-dim", "6"], "latent_dim must be at least 10"),
])
def test_errors_are_one_line_and_non_zero(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and words in err and "\n" not in err


def test_pose_flag_reaches_the_checkpoint(tmp_path, tiny_config_file, capsys):
    ckpt = tmp_path / "m.pt"
    assert main(["train", "--config", str(tiny_config_file), *TINY, "--epochs", "1",
                 "--pose", "none", "--checkpoint", str(ckpt)]) == 0
    assert main(["info", str(ckpt)]) == 0
    assert "pose" in capsys.readouterr().out
    assert load_checkpoint(ckpt).config.pose == "none"
    assert not load_checkpoint(ckpt).build_model().pose


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


def test_ppca_fit_compare_info_and_sample(tmp_path, tiny_config_file, capsys):
    vae = tmp_path / "vae.pt"
    assert main(["train", "--config", str(tiny_config_file), *TINY, "--epochs", "1",
                 "--checkpoint", str(vae)]) == 0
    capsys.readouterr()
    ppca = tmp_path / "ppca.pt"
    assert main(["ppca", "--compare", str(vae), "--out", str(ppca)]) == 0
    out = capsys.readouterr().out
    assert "PPCA (Q=12)" in out and "VAE (Q=12) (epoch 1)" in out and "val IoU" in out

    assert main(["info", str(ppca)]) == 0
    out = capsys.readouterr().out
    assert "PPCA model" in out and "explained variance" in out and "IoU" in out

    out_dir = tmp_path / "ppca_samples"
    assert main(["sample", str(ppca), "--n", "2", "--out", str(out_dir)]) == 0
    assert len(list(out_dir.iterdir())) == 2

    assert main(["ppca", "--compare", str(vae), "--latent-dim", "3"]) == 2
    assert "give no --config or data flags" in capsys.readouterr().err


def test_train_discrete_denoising_with_flags(tmp_path, tiny_config_file, capsys):
    ckpt, metrics = tmp_path / "d.pt", tmp_path / "d.jsonl"
    assert main(["train", "--config", str(tiny_config_file), *TINY, "--epochs", "1",
                 "--latent", "categorical", "--categorical-classes", "3", "--straight-through",
                 "--noise", "flip", "--noise-level", "0.05", "--beta-schedule", "linear",
                 "--warmup-epochs", "2", "--free-bits", "0.1", "--checkpoint", str(ckpt),
                 "--metrics", str(metrics)]) == 0
    line = json.loads(metrics.read_text())
    assert line["beta"] == 0.5 and line["temperature"] > 0 and line["mu_mean"] is None
    assert len(line["mutual_info_per_var"]) == 12
    assert main(["info", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "denoising discrete VAE (12 x 3)" in out and "posterior entropy" in out
    assert main(["sample", str(ckpt), "--n", "2", "--out", str(tmp_path / "s"),
                 "--threshold", "0.01"]) == 0


def test_signed_distance_grids_need_gaussian_likelihood(capsys):
    assert main(["train", "--grid", "sdf"]) == 2
    assert "needs likelihood 'gaussian'" in capsys.readouterr().err


def test_ppca_on_signed_distances_samples_outward_meshes(tmp_path, capsys):
    model = tmp_path / "sdf_ppca.pt"
    assert main(["ppca", "--resolution", "16", "--dataset-size", "30", "--latent-dim", "3",
                 "--grid", "sdf", "--out", str(model)]) == 0
    out_dir = tmp_path / "sdf_samples"
    assert main(["sample", str(model), "--n", "2", "--out", str(out_dir)]) == 0   # level 0
    meshes = [trimesh.load(p, force="mesh") for p in sorted(out_dir.iterdir())]
    assert meshes and all(m.volume > 0 for m in meshes)     # outward normals
