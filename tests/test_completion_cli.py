"""The completion commands end to end on a tiny model: train-completion, complete (aml, ml,
naive; simulated and from a file), evaluate-completion with JSON, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from explorer.cli import main
from explorer.completion_cli import SUPERVISED_SUFFIX
from explorer.entry import COMMANDS
from trainer.checkpoint import load_checkpoint
from trainer.completion.encoder_file import load_completion

TINY = ["--resolution", "16", "--latent-dim", "12", "--batch-size", "8", "--dataset-size", "30",
        "--epochs", "1", "--seed", "1"]
TINY_ENCODER = ["--epochs", "1", "--batch-size", "6", "--channels", "4,8,8,8"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("completion-cli")
    config = folder / "tiny.toml"
    config.write_text("channels = [4, 8, 8, 16]\n")
    ckpt = folder / "m.pt"
    assert main(["train", "--config", str(config), *TINY, "--checkpoint", str(ckpt)]) == 0
    return ckpt


def test_the_commands_are_listed():
    assert {"complete", "train-completion", "evaluate-completion"} <= set(COMMANDS)


def test_train_complete_and_evaluate(tiny_run, tmp_path, capsys):
    ckpt = tiny_run
    assert main(["train-completion", str(ckpt), *TINY_ENCODER]) == 0
    encoder = ckpt.with_name("m.completion.pt")
    assert encoder.exists()
    assert main(["train-completion", str(ckpt), "--resume", "--epochs", "2"]) == 0
    assert "epoch 2:" in capsys.readouterr().err

    for method in ("aml", "ml", "naive"):
        out = tmp_path / method
        assert main(["complete", str(ckpt), "--simulate", "single-view", "--method", method,
                     "--viewpoint", "30,20", "--steps", "2", "--out", str(out),
                     "--format", "obj"]) == 0
        printed = capsys.readouterr().out
        assert "against the truth: IoU" in printed
        assert {"observation.npz", "code.npy"} <= {p.name for p in out.iterdir()}
        assert trimesh.load(out / "truth.obj", force="mesh").faces.shape[0] > 0
        assert np.load(out / "code.npy").shape == (1, 12)

    # the observation a run wrote completes again from the file
    again = tmp_path / "again"
    assert main(["complete", str(ckpt), "--input", str(tmp_path / "aml" / "observation.npz"),
                 "--method", "aml", "--out", str(again)]) == 0
    np.testing.assert_allclose(np.load(again / "code.npy"), np.load(tmp_path / "aml" /
                                                                    "code.npy"), rtol=1e-5)

    report = tmp_path / "table.json"
    assert main(["evaluate-completion", str(ckpt), "--shapes", "3", "--steps", "2",
                 "--methods", "prior,aml,ml,aml+ml,naive,mean", "--json", str(report)]) == 0
    captured = capsys.readouterr()
    assert "aml: using" in captured.err
    table = json.loads(report.read_text())
    pairs = {(r["kind"], r["method"]) for r in table["rows"]}
    assert {("single-view", "aml"), ("noisy", "prior"), ("noisy", "aml+ml")} <= pairs
    assert all(0 <= r["iou"] <= 1 for r in table["rows"])
    assert "single-view  mean" in captured.out


def test_evaluate_trains_a_missing_encoder_on_the_fly(tiny_run, tmp_path, capsys,
                                                      monkeypatch):
    import explorer.completion_cli as completion_cli

    monkeypatch.setattr(completion_cli, "ON_THE_FLY", completion_cli.ON_THE_FLY.with_overrides(
        epochs=1, shapes=8, channels=(4, 8, 8, 8)))
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_run.read_bytes())
    assert main(["evaluate-completion", str(copy), "--shapes", "2", "--kinds", "cut",
                 "--methods", "prior,supervised"]) == 0
    captured = capsys.readouterr()
    assert "supervised: no encoder" in captured.err and "on the fly" in captured.err
    assert "cut          supervised" in captured.out


@pytest.mark.parametrize("argv, words", [
    (["complete", "{ckpt}", "--method", "ml"], "give --input FILE, --simulate KIND"),
    (["complete", "{ckpt}", "--simulate", "lidar"], "invalid choice"),
    (["complete", "{ckpt}", "--simulate", "cut", "--viewpoint", "1,2,3"], "AZIMUTH,ELEVATION"),
    (["complete", "{ckpt}", "--input", "{bad_npz}"], "'occupied' and 'free'"),
    (["complete", "{other}", "--simulate", "cut"], "no completion encoder"),
    (["evaluate-completion", "{ckpt}", "--methods", "magic"], "unknown methods"),
    (["train-completion", "{ckpt}", "--kl-weight", "-1"], "kl_weight"),
])
def test_errors_are_one_line_and_non_zero(tiny_run, tmp_path, capsys, argv, words):
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=np.zeros(3))
    other = tmp_path / "other.pt"
    other.write_bytes(tiny_run.read_bytes())
    argv = [a.format(ckpt=tiny_run, bad_npz=bad, other=other) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:  # a usage error, from the argument parser
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and words in err


def test_a_supervised_encoder_resumes(tiny_run, capsys):
    ckpt = tiny_run
    assert main(["train-completion", str(ckpt), *TINY_ENCODER, "--supervised"]) == 0
    assert main(["train-completion", str(ckpt), "--supervised", "--resume",
                 "--epochs", "2"]) == 0
    assert "epoch 2:" in capsys.readouterr().err
    state = load_completion(ckpt.with_name("m" + SUPERVISED_SUFFIX),
                            load_checkpoint(ckpt).build_model())
    assert state.epoch == 2 and state.config.target == "complete"
