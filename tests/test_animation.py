"""Animations: rendered frames, the GIF file and the `animate` command."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from explorer import bundled
from explorer.animation import render_frames, write_animation
from explorer.cli import main
from trainer.errors import ShapeExplorerError


def moving_cube(steps: int, size: int = 16) -> np.ndarray:
    grids = np.zeros((steps, size, size, size), np.float32)
    for k in range(steps):
        grids[k, 2 + k:8 + k, 4:12, 4:12] = 1.0
    return grids


def test_gif_holds_one_frame_per_grid_and_the_frames_differ(tmp_path):
    frames = render_frames(moving_cube(5), 0.5, size=48)
    assert len(frames) == 5 and frames[0].shape == (48, 48, 3) and frames[0].dtype == np.uint8
    path = write_animation(frames, tmp_path / "cube.gif", frame_ms=100)
    read = iio.imread(path, index=None)
    assert read.shape[0] == 5
    assert all(not np.array_equal(read[k], read[k + 1]) for k in range(4))
    assert iio.immeta(path)["duration"] == 100


def test_signed_distance_frames_show_the_negative_inside():
    sdf = 1.0 - 2.0 * moving_cube(2)          # -1 inside, +1 outside
    assert render_frames(sdf, 0.0, inside_low=True, size=32)[0].std() > 0


def test_a_path_without_an_animation_suffix_is_refused(tmp_path):
    with pytest.raises(ShapeExplorerError, match="supported formats are gif"):
        write_animation(render_frames(moving_cube(2), 0.5, size=32), tmp_path / "a.mp4")


def test_animate_command_writes_an_interpolation_and_a_traversal(tmp_path, capsys):
    out = tmp_path / "interp.gif"
    assert main(["animate", str(bundled.MODEL_FILE), "--out", str(out), "--steps", "6",
                 "--size", "48", "--seed", "3"]) == 0
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (6, 48, 48)
    assert not np.array_equal(frames[0], frames[-1])
    assert "wrote 6 frames" in capsys.readouterr().out

    out = tmp_path / "dim.gif"
    assert main(["animate", str(bundled.MODEL_FILE), "--out", str(out), "--steps", "4",
                 "--size", "32", "--traverse", "12"]) == 0
    assert iio.imread(out, index=None).shape[0] == 4


def test_animate_refuses_bad_requests_in_one_line(tmp_path, capsys):
    for extra, message in ((["--out", str(tmp_path / "a.avi")], "supported formats are gif"),
                           (["--steps", "1"], "--steps must be 2..256"),
                           (["--traverse", "999"], "--traverse must be 0..")):
        assert main(["animate", str(bundled.MODEL_FILE), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and message in err and err.count("\n") == 1
