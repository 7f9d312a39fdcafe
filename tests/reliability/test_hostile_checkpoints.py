"""Hostile and damaged checkpoint files: each refused with its own message, nothing executed.

tests/test_checkpoint.py already covers a torch.save'd pickle payload (protocol 2), a foreign
dict, another architecture, half a file, a zero-byte file and a newer format version; here the
other pickle protocols and containers, every truncation, random damage and malformed parts, and
what the command line makes of them.
"""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as safetensors_bytes

from explorer.cli import main
from trainer.checkpoint import FORMAT_NAME, load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.errors import CheckpointError, TrainingError
from trainer.loop import Trainer

CONFIG = TrainConfig(resolution=16, latent_dim=12, channels=(2, 4, 4, 8), batch_size=4, epochs=1,
                     dataset_size=12, seed=2)
CODE = "could run code"
CORRUPT = "corrupt or truncated"
FOREIGN = "not a Shape Latent Explorer checkpoint"


class Trained:
    """A real one-epoch checkpoint (with optimiser and noise state), its raw payload and its
    data split (short repr: hypothesis prints the fixtures of a failing example)."""

    def __init__(self, folder: Path) -> None:
        self.split = load_shapes(CONFIG).split(CONFIG.val_fraction, CONFIG.seed)
        trainer = Trainer(CONFIG, *self.split)
        trainer.run()
        self.path = save_checkpoint(folder / "good.pt", trainer.checkpoint())
        self.raw = torch.load(self.path, weights_only=True)

    def __repr__(self) -> str:
        return f"Trained({self.path})"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    return Trained(tmp_path_factory.mktemp("good"))


class _Payload:
    """Pickles as a call that would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _torch_bytes(obj: object, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


CODE_CARRIERS = {
    **{f"pickle protocol {p}": (lambda m, p=p: pickle.dumps({"format": FORMAT_NAME,
                                                             "x": _Payload(m)}, protocol=p))
       for p in range(6)},
    "torch.save protocol 4": lambda m: _torch_bytes({"x": _Payload(m)}, pickle_protocol=4),
    "legacy torch.save": lambda m: _torch_bytes({"x": _Payload(m)},
                                                _use_new_zipfile_serialization=False),
    "weights with a payload": lambda m: _torch_bytes(
        {"format": FORMAT_NAME, "version": 1, "model": {"w": torch.zeros(2)},
         "history": [_Payload(m)]}),
    "numpy object array": lambda m: pickle.dumps(np.array([_Payload(m)], dtype=object)),
}


@pytest.mark.parametrize("carrier", sorted(CODE_CARRIERS))
def test_code_in_any_pickle_is_refused_and_never_runs(tmp_path, carrier, capsys) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pt"
    path.write_bytes(CODE_CARRIERS[carrier](marker))
    with pytest.raises(CheckpointError, match=CODE):
        load_checkpoint(path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and CODE in err
    assert not marker.exists()


@pytest.mark.parametrize("make, words", [
    (lambda: _torch_bytes(OrderedDict(conv=torch.zeros(3, 3), fc=torch.ones(2))), FOREIGN),
    (lambda: _torch_bytes({"state_dict": {"w": torch.zeros(2)}, "epoch": 7}), FOREIGN),
    (lambda: safetensors_bytes({"w": torch.zeros(2)}), FOREIGN),
    (lambda: np.arange(10).tobytes(), CORRUPT),
    (lambda: b"\x80", CORRUPT),
    (lambda: b"PK\x05\x06" + bytes(18), CORRUPT),   # an empty zip archive
], ids=["state dict", "other trainer", "safetensors", "raw numbers", "one byte", "empty zip"])
def test_files_of_other_programs_are_named_as_such(tmp_path, make, words) -> None:
    path = tmp_path / "other.pt"
    path.write_bytes(make())
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(path)


def test_every_truncation_is_refused_as_truncated(tmp_path, trained) -> None:
    data = trained.path.read_bytes()
    path = tmp_path / "cut.pt"
    for cut in [1, 2, 10, 100, *range(0, len(data), len(data) // 40)[1:], len(data) - 1]:
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=CORRUPT):
            load_checkpoint(path)


def test_an_unreadable_file_says_so(tmp_path, trained, monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(CheckpointError, match="cannot read the file: Permission denied"):
        load_checkpoint(trained.path)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=8))
def test_random_damage_never_escapes_as_another_error(tmp_path, trained, flips) -> None:
    data = bytearray(trained.path.read_bytes())
    for where, value in flips:
        data[int(where * len(data))] = value
    path = tmp_path / "damaged.pt"
    path.write_bytes(bytes(data))
    try:
        ckpt = load_checkpoint(path)
        model = ckpt.build_model()
    except CheckpointError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:   # the damage hit tensor data or a number the config allows: still a usable model
        res = ckpt.config.resolution
        assert model.decode(torch.zeros(1, ckpt.config.latent_dim)).shape == (1, 1, res, res, res)


HOSTILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.just(2**70), st.floats(),
    st.text(max_size=4), st.just([]), st.just([1.0]), st.just({}), st.just({"a": 1}),
    st.just([{}]), st.builds(torch.zeros, st.integers(0, 3)),
    st.just(torch.zeros(2, dtype=torch.int64)), st.just(torch.tensor(float("nan"))))


def _mutate(raw: dict, data: st.DataObject) -> dict:
    """The payload with one part, or one entry of a part, replaced by a hostile value."""
    raw = dict(raw)
    key = data.draw(st.sampled_from([*sorted(raw), "extra"]), label="key")
    value = data.draw(HOSTILE_VALUES, label="value")
    part = raw.get(key)
    nested = data.draw(st.booleans(), label="nested")
    if nested and key == "history" and part:
        report = dict(part[0])
        report[data.draw(st.sampled_from(sorted(report)), label="field")] = value
        raw[key] = [report, *part[1:]]
    elif nested and key in ("model", "config") and part:
        part = dict(part)
        part[data.draw(st.sampled_from(sorted(part)), label="entry")] = value
        raw[key] = part
    elif nested and key == "optimizer" and part:
        groups = [dict(g) for g in part["param_groups"]]
        groups[0][data.draw(st.sampled_from(sorted(groups[0])), label="hyper")] = value
        state = dict(part["state"])
        if data.draw(st.booleans(), label="state"):
            state[next(iter(state))] = {"step": torch.tensor(1.0), "exp_avg": torch.zeros(1),
                                        "exp_avg_sq": torch.zeros(1)}
            groups = part["param_groups"]
        raw[key] = {"state": state, "param_groups": groups}
    else:
        raw[key] = value
    return raw


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_parts_are_refused_or_fully_usable(tmp_path, trained, data, capsys) -> None:
    """Whatever a checkpoint's parts hold, loading refuses it with a CheckpointError, or `info`
    and resuming work on it (training may stop with a TrainingError): no other exception ever
    reaches a user."""
    path = tmp_path / "edited.pt"
    torch.save(_mutate(trained.raw, data), path)
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert "\n" not in str(exc)
        return
    assert main(["info", str(path)]) == 0
    capsys.readouterr()
    config = ckpt.config.with_overrides(epochs=ckpt.epoch + 1)
    trainer = Trainer(config, *trained.split, resume_from=ckpt)
    try:
        trainer.run()
    except TrainingError as exc:   # e.g. an edited learning rate makes the loss diverge
        assert str(exc).startswith("training stopped")
    else:
        assert trainer.epoch == ckpt.epoch + 1


@pytest.mark.parametrize("argv", [
    ["info", "{p}"], ["sample", "{p}", "--out", "{d}"], ["export-weights", "{p}", "{d}/w.st"],
    ["train", "--resume", "{p}", "--checkpoint", "{d}/new.pt"],
])
def test_every_command_refuses_a_hostile_file_in_one_line(tmp_path, argv, capsys) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pt"
    path.write_bytes(CODE_CARRIERS["pickle protocol 2"](marker))
    args = [a.format(p=path, d=tmp_path / "out") for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and CODE in err
    assert not marker.exists() and not (tmp_path / "out").exists()
    assert os.listdir(tmp_path) == ["evil.pt"]
