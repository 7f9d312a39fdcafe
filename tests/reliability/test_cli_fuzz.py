"""Random and hostile `train` flags: a clean error exit or a valid run config, never a traceback.

The flags and their kinds are read from the real argument parser, so new flags are fuzzed too.
Training itself is replaced by a recorder (and the built-in data by a small set): every step
before it (device, config files, resume checkpoints, folder imports) runs for real.
tests/test_config_fuzz.py fuzzes TrainConfig.from_dict and config files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from explorer.cli import build_parser, main
from trainer import cli as trainer_cli
from trainer.checkpoint import save_checkpoint
from trainer.config import TrainConfig
from trainer.data import sources
from trainer.data.procedural import make_procedural
from trainer.loop import Trainer

TINY = TrainConfig(resolution=16, latent_dim=12, channels=(2, 4, 4, 8), batch_size=4, epochs=1,
                   dataset_size=12, seed=1)
SKIPPED_FLAGS = {"-h", "--help"}
NUMBERS = ["0", "-1", "1", "2", "16", "32", "64", "1e3", "1.5", "-0", "nan", "inf", "-inf",
           "1e309", "0x10", "9" * 30, "", " ", "1_000", "٣"]   # the last: an Arabic-Indic 3
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=12)


class Recorder:
    """Stands in for the Trainer: records the config it would train with."""

    configs: ClassVar[list[TrainConfig]] = []

    def __init__(self, config: TrainConfig, train, val, **_kwargs) -> None:
        Recorder.configs.append(config)
        self.config, self.epoch, self.choices = config, config.epochs, ()

    def run(self) -> bool:
        return True


class NoLogs:
    """Stands in for the run's JSONL / TensorBoard logs of a run that trains nothing."""

    wants_final_state = False

    def __init__(self, *_args) -> None:
        pass

    def write_epoch(self, _report) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Paths a flag may point at: good, hostile and missing."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    trainer = Trainer(TINY, *make_procedural(12, 16, 1).split(0.1, 1))
    trainer.run()
    paths = {
        "checkpoint": save_checkpoint(root / "good.pt", trainer.checkpoint()),
        "junk": root / "junk.pt", "empty": root / "empty.pt", "missing": root / "missing.pt",
        "folder": root, "toml": root / "c.toml", "json": root / "c.json",
        "bad_toml": root / "bad.toml", "shapes": root / "shapes", "no_shapes": root / "none",
        "device": Path("/dev/null"),
    }
    paths["junk"].write_bytes(b"\x80\x02junk" * 9)
    paths["empty"].write_bytes(b"")
    paths["toml"].write_text("channels = [2, 4, 4, 8]\nresolution = 16\n")
    paths["json"].write_text(json.dumps({"latent_dim": -3}))
    paths["bad_toml"].write_text("resolution = [\n")
    (paths["shapes"] / "a").mkdir(parents=True)
    for i in range(1, 5):   # four tetrahedra of different sizes
        (paths["shapes"] / "a" / f"t{i}.off").write_text(
            f"OFF\n4 4 0\n0 0 0\n{i} 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n")
    paths["no_shapes"].mkdir()
    (paths["no_shapes"] / "notes.txt").write_text("no shapes here")
    return paths


def _train_actions() -> list[argparse.Action]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices["train"]._actions
            if a.option_strings and not SKIPPED_FLAGS & set(a.option_strings)]


def _values(action: argparse.Action, files: dict[str, Path]) -> st.SearchStrategy[list[str]]:
    """Hostile and valid argument lists for one flag."""
    flag = action.option_strings[-1]
    paths = st.sampled_from(sorted(str(p) for p in files.values()))
    if action.nargs == 0:   # store_true, --x / --no-x
        return st.sampled_from([[s] for s in action.option_strings])
    if action.choices is not None:
        words = st.sampled_from([*map(str, action.choices), "", "NONE", "bernoulli "])
    elif action.type in (int, float):
        hostile = st.one_of(st.sampled_from(NUMBERS), st.integers(-10, 100).map(str),
                            st.floats(allow_nan=True, allow_infinity=True).map(repr), TEXT)
        default = getattr(TrainConfig(), action.dest, None)   # a valid value, half the time
        words = hostile if default is None else st.one_of(st.just(str(default)), hostile)
    elif action.type is Path or flag in ("--data", "--device"):
        words = st.one_of(paths, TEXT, st.sampled_from(["builtin", "cpu", "cuda", "cuda:7",
                                                        "auto", "CPU", "-", "--epochs"]))
    else:
        words = st.one_of(TEXT, paths)
    return words.map(lambda w: [f"{flag}={w}"])


@st.composite
def train_argv(draw, files: dict[str, Path]) -> list[str]:
    actions = _train_actions()
    chosen = draw(st.lists(st.sampled_from(actions), max_size=6, unique_by=id))
    argv = ["train"]
    for action in chosen:
        argv += draw(_values(action, files))
    return argv


@pytest.fixture
def no_training(monkeypatch, tmp_path) -> type[Recorder]:
    monkeypatch.setattr(trainer_cli, "Trainer", Recorder)
    monkeypatch.setattr(trainer_cli, "RunLogs", NoLogs)
    monkeypatch.setattr(sources, "load_shapes",
                        lambda config: make_procedural(12, config.resolution, 1))
    monkeypatch.chdir(tmp_path)   # the default checkpoint path is relative
    Recorder.configs = []
    return Recorder


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_train_flags_give_a_clean_error_or_a_valid_config(files, no_training, capsys,
                                                         data) -> None:
    argv = data.draw(train_argv(files), label="argv")
    no_training.configs.clear()
    try:
        status = main(argv)
    except SystemExit as exit_:   # argparse: usage and one error line, status 2
        status = exit_.code
        err = capsys.readouterr().err
        assert status == 2 and "error:" in err.strip().splitlines()[-1], err
        assert no_training.configs == []
        event("argparse error")
        return
    err = capsys.readouterr().err
    assert "Traceback" not in err
    event(f"status {status}")
    if status == 0:
        (config,) = no_training.configs
        assert isinstance(config, TrainConfig)
        assert TrainConfig.from_dict(config.to_dict()) == config
        assert all(math.isfinite(v) for v in config.to_dict().values() if isinstance(v, float))
    else:
        assert status == 2 and no_training.configs == []
        last = err.rstrip("\n").split("\n")[-1]
        assert last.startswith("error: ") and len(last) > len("error: "), err
        assert last.isprintable(), last   # no line breaks or terminal escapes from the input


def test_the_fuzzer_reaches_both_outcomes(files, no_training, capsys) -> None:
    """A valid run config and a refused one from the same kinds of flags (a sanity check)."""
    assert main(["train", f"--config={files['toml']}", "--epochs=2"]) == 0
    assert no_training.configs[-1].epochs == 2 and no_training.configs[-1].resolution == 16
    assert main(["train", f"--resume={files['junk']}"]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
    assert main(["train", f"--data={files['shapes']}", "--resolution=16"]) == 0
    assert main(["train", f"--data={files['no_shapes']}"]) == 2
    assert "No shape files" in capsys.readouterr().err
    assert os.listdir(".") == []   # the recorder trained nothing, so nothing was written


def test_control_characters_in_a_value_stay_escaped_on_one_line(no_training, capsys) -> None:
    assert main(["train", "--data=new\nline \x1b[31mred"]) == 2
    last = capsys.readouterr().err.rstrip("\n").split("\n")[-1]
    assert last == "error: The data folder new\\nline \\x1b[31mred does not exist."
