"""Mirror augmentation flips shapes only across the axes where their class is symmetric."""

from __future__ import annotations

import numpy as np
import torch

from trainer.augment import describe_axes, flip_batch, mirror_axes, shift_batch
from trainer.auto_choices import resolve_auto
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.data.shapeset import ShapeSet


def _chairs(n: int = 6, d: int = 16) -> np.ndarray:
    """Shapes symmetric left-right (x), with a back on one side of y and a seat low in z."""
    grids = np.zeros((n, 1, d, d, d), dtype=np.uint8)
    for i in range(n):
        w = 3 + i % 3
        grids[i, 0, w:d - w, 3:13, 4:6] = 1           # seat
        grids[i, 0, w:d - w, 11:13, 6:14] = 1         # back, at high y only
    return grids


def test_each_class_is_flipped_only_across_its_symmetric_axes() -> None:
    chairs = _chairs()
    walls = np.zeros_like(chairs)
    walls[:, 0, 2:14, 2:14, 7:9] = 1                  # symmetric across x, y and z
    shapes = ShapeSet(np.concatenate([chairs, walls]), np.repeat([0, 1], len(chairs)),
                      ("chair", "wall"))
    axes = mirror_axes(shapes)
    assert axes.tolist() == [[True, False, False], [True, True, True]]
    assert describe_axes(axes, shapes.class_names) == "chair across x; wall across x, y, z"


def test_flips_follow_the_allowed_axes_and_the_generator() -> None:
    grids = torch.from_numpy(_chairs(64))
    labels = torch.zeros(64, dtype=torch.int64)
    axes = torch.tensor([[False, True, False]])   # y: where a flip changes these shapes
    out = flip_batch(grids, labels, axes, torch.Generator().manual_seed(5))
    flipped = [not torch.equal(o, g) for o, g in zip(out, grids, strict=True)]
    assert 16 < sum(flipped) < 48                       # about half, at random
    for o, g, f in zip(out, grids, flipped, strict=True):
        assert torch.equal(o, torch.flip(g, [2]) if f else g)   # across y only
    again = flip_batch(grids, labels, axes, torch.Generator().manual_seed(5))
    assert torch.equal(out, again)
    none = flip_batch(grids, labels, torch.zeros((1, 3), dtype=torch.bool),
                      torch.Generator().manual_seed(5))
    assert torch.equal(none, grids)


def test_auto_mirrors_the_builtin_solids_across_every_axis() -> None:
    shapes = make_procedural(120, 16, seed=2)
    config, choices = resolve_auto(TrainConfig(resolution=16, pose="none"), shapes)
    assert config.augment == "mirror"
    assert [c.setting for c in choices] == ["augment"] and "across x, y, z" in choices[0].reason


def test_auto_does_not_augment_shapes_without_a_symmetric_axis() -> None:
    grids = np.zeros((4, 1, 16, 16, 16), dtype=np.uint8)
    grids[:, 0, 1:6, 1:9, 1:4] = 1                     # a corner block: no mirror symmetry
    config, (choice,) = resolve_auto(TrainConfig(resolution=16, pose="none"),
                                     ShapeSet(grids, np.zeros(4), ("blocks",)))
    assert config.augment == "none" and "no class" in choice.reason


def test_training_batches_hold_mirrored_shapes(monkeypatch) -> None:
    from trainer.loop import Trainer
    grids = _chairs(32)
    for i, grid in enumerate(grids):     # an armrest on the left (even) or right (odd): the
        x = 2 if i % 2 == 0 else 13      # class is symmetric across x, no single chair is
        grid[0, x, 4:12, 6:7 + i % 8] = 1
    shapes = ShapeSet(grids, np.zeros(32), ("chair",))
    config = TrainConfig(resolution=16, latent_dim=4, channels=(4, 4, 4, 4), batch_size=8,
                         epochs=1, pose="none", augment="auto")
    trainer = Trainer(config, *shapes.split(0.25, 0))
    assert trainer.config.augment == "mirror"
    seen: list[torch.Tensor] = []
    to_device = trainer._to_device
    monkeypatch.setattr(trainer, "_to_device", lambda g: seen.append(g.clone()) or to_device(g))
    trainer.run()
    originals = {g.tobytes() for g in grids}
    mirrored = {np.flip(g, 1).tobytes() for g in grids}
    batch = np.concatenate([s.numpy() for s in seen[:3]])      # the training batches
    kinds = ["kept" if g.tobytes() in originals else "x" if g.tobytes() in mirrored else "?"
             for g in batch]
    assert "?" not in kinds and 0 < kinds.count("x") < len(kinds)


def test_shifts_move_whole_shapes_within_the_limit_and_fill_with_outside() -> None:
    grids = torch.zeros((40, 1, 12, 12, 12))
    grids[:, :, 4:8, 5:7, 3:9] = 1.0
    moved = shift_batch(grids, 2, torch.Generator().manual_seed(0), outside=0.0)
    offsets = set()
    for before, after in zip(grids, moved, strict=True):
        assert after.sum() == before.sum()                 # nothing cut off, nothing added
        offset = tuple((after[0].nonzero().min(0).values
                        - before[0].nonzero().min(0).values).tolist())
        assert torch.equal(after[0], torch.roll(before[0], offset, (0, 1, 2)))
        offsets.add(offset)
    assert all(max(map(abs, o)) <= 2 for o in offsets) and len(offsets) > 10
    signed = shift_batch(torch.full((3, 1, 6, 6, 6), -1.0), 1, torch.Generator(), outside=1.0)
    assert set(signed.unique().tolist()) <= {-1.0, 1.0}


def test_training_batches_hold_shifted_shapes(monkeypatch) -> None:
    from trainer.loop import Trainer
    grids = _chairs(16)
    shapes = ShapeSet(grids, np.zeros(16), ("chair",))
    config = TrainConfig(resolution=16, latent_dim=4, channels=(4, 4, 4, 4), batch_size=8,
                         epochs=1, pose="none", augment="none", shift=2)
    trainer = Trainer(config, *shapes.split(0.25, 0))
    seen: list[torch.Tensor] = []
    to_device = trainer._to_device
    monkeypatch.setattr(trainer, "_to_device", lambda g: seen.append(g.clone()) or to_device(g))
    trainer.run()
    batch = np.concatenate([s.numpy() for s in seen[:1]])
    moves = range(-2, 3)
    shifted = {np.roll(g, (a, b, c), (1, 2, 3)).tobytes(): (a, b, c)
               for g in grids for a in moves for b in moves for c in moves}
    offsets = [shifted.get(g.tobytes()) for g in batch]
    assert None not in offsets and any(o != (0, 0, 0) for o in offsets)
