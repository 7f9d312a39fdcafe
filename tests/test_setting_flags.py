"""`train` flags are made from TrainConfig's field metadata; TrainConfig alone validates."""

import argparse
import dataclasses

import pytest

from explorer.cli import build_parser, main
from trainer import cli as trainer_cli
from trainer.config import SETTINGS, TrainConfig
from trainer.data.procedural import make_procedural
from trainer.data.sources import RunData


def _train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_every_setting_has_a_flag_with_its_help():
    actions = {a.dest: a for a in _train_parser()._actions}
    for f in dataclasses.fields(TrainConfig):
        action = actions[f.name]
        assert action.option_strings[0] == "--" + f.name.replace("_", "-")
        assert f.metadata["help"] in action.help
    assert "--seed" in _train_parser().format_help() and actions["seed"].help
    assert "{cosine,constant}" in _train_parser().format_help()


@pytest.fixture
def recorded(monkeypatch, tmp_path) -> list[TrainConfig]:
    configs: list[TrainConfig] = []

    class Recorder:
        def __init__(self, config, *_args, **_kwargs) -> None:
            configs.append(config)
            self.config, self.epoch, self.choices = config, config.epochs, ()

        def run(self) -> bool:
            return True

    monkeypatch.setattr(trainer_cli, "Trainer", Recorder)
    monkeypatch.setattr(trainer_cli, "load_run_data",
                        lambda config, **_: RunData(make_procedural(12, config.resolution, 1)))
    monkeypatch.chdir(tmp_path)
    return configs


def test_channels_and_lr_schedule_reach_the_config(recorded):
    assert main(["train", "--channels", "4,8,8,16", "--lr-schedule", "constant",
                 "--resolution", "16"]) == 0
    assert recorded[0].channels == (4, 8, 8, 16) and recorded[0].lr_schedule == "constant"


@pytest.mark.parametrize("argv, words", [
    (["train", "--likelihood", "poisson"], "error: likelihood must be one of"),
    (["train", "--channels", "4,8"], "error: channels must be 4 values"),
    (["train", "--seed", "-1"], "error: seed must be 0 or more, got -1"),
])
def test_config_errors_come_from_trainconfig(recorded, capsys, argv, words):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().startswith(words) and recorded == []


def test_flags_only_convert(recorded, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--channels", "4,x"])
    assert exit_.value.code == 2
    assert "whole numbers separated by commas" in capsys.readouterr().err


def test_form_help_is_the_settings_description():
    assert SETTINGS["lr"].describe() == "Adam learning rate (peak); in (0, 1]; default 0.002"
