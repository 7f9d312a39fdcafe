"""binvox codec: byte layout, axis order, round trips and malformed files."""

from pathlib import Path

import numpy as np
import pytest

from trainer.data.binvox import decode_binvox, encode_binvox, read_binvox, write_binvox
from trainer.errors import DataError

HEADER_2 = b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n"
# A staircase (1,0,0), (1,1,0), (1,1,1) in [x, y, z]: any swap or flip of axes changes it.
# File index = x*4 + z*2 + y -> 4, 5, 7, so the file holds 0 0 0 0 1 1 0 1.
STAIRCASE = HEADER_2 + bytes([0, 4, 1, 2, 0, 1, 1, 1])


def staircase_grid() -> np.ndarray:
    grid = np.zeros((2, 2, 2), dtype=np.uint8)
    for x, y, z in [(1, 0, 0), (1, 1, 0), (1, 1, 1)]:
        grid[x, y, z] = 1
    return grid


def test_hand_written_file_reads_in_xyz_order(tmp_path: Path) -> None:
    path = tmp_path / "stairs.binvox"
    path.write_bytes(STAIRCASE)
    grid = read_binvox(path)
    assert grid.dtype == np.uint8
    np.testing.assert_array_equal(grid, staircase_grid())


def test_encoder_writes_the_reference_bytes(tmp_path: Path) -> None:
    assert encode_binvox(staircase_grid()) == STAIRCASE
    path = tmp_path / "stairs.binvox"
    write_binvox(path, staircase_grid().astype(bool))
    assert path.read_bytes() == STAIRCASE


def test_runs_longer_than_255_are_split() -> None:
    data = encode_binvox(np.zeros((8, 8, 8), dtype=bool))
    assert data.endswith(b"data\n" + bytes([0, 255, 0, 255, 0, 2]))
    assert decode_binvox(data).sum() == 0


def test_newline_bytes_in_run_data_are_kept() -> None:
    # A count of 10 is the byte b"\n"; it must not be mistaken for a header line break.
    data = b"#binvox 1\ndim 3 3 3\ndata\n" + bytes([1, 10, 0, 17])
    grid = decode_binvox(data)
    assert grid.sum() == 10
    assert encode_binvox(grid).endswith(bytes([1, 10, 0, 17]))


@pytest.mark.parametrize("fill", [0.0, 0.3, 1.0])
def test_round_trip(tmp_path: Path, fill: float) -> None:
    grid = (np.random.default_rng(0).random((32, 32, 32)) < fill).astype(np.uint8)
    path = tmp_path / "grid.binvox"
    write_binvox(path, grid)
    np.testing.assert_array_equal(read_binvox(path), grid)


def test_unknown_header_lines_are_skipped() -> None:
    data = STAIRCASE.replace(b"scale 1\n", b"scale 1\ncomment made by hand\n")
    np.testing.assert_array_equal(decode_binvox(data), staircase_grid())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"#vox 1\ndim 2 2 2\ndata\n" + bytes([0, 8]), "not a binvox file"),
        (b"#binvox 1\ndim 2 2 3\ndata\n" + bytes([0, 12]), "not cubic"),
        (b"#binvox 1\ndim 2 2\ndata\n" + bytes([0, 8]), "bad binvox dim line"),
        (b"#binvox 1\ndim a b c\ndata\n" + bytes([0, 8]), "bad binvox dim line"),
        (b"#binvox 1\ntranslate 0 0 0\ndata\n" + bytes([0, 8]), "no 'dim' line"),
        (b"#binvox 1\ndim 2 2 2\n" + bytes([0, 8]), "no 'data' line"),
        (STAIRCASE[:-2], "truncated: 7 of 8 voxels"),
        (STAIRCASE[:-1], "truncated (odd number"),
        (STAIRCASE + bytes([0, 1]), "too long"),
    ],
)
def test_malformed_files_raise_data_error(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.binvox"
    path.write_bytes(data)
    with pytest.raises(DataError, match=r"bad.binvox") as info:
        read_binvox(path)
    assert reason in str(info.value)


def test_missing_file_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing.binvox"):
        read_binvox(tmp_path / "missing.binvox")


def test_writer_rejects_non_cubic_grids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cubic"):
        write_binvox(tmp_path / "x.binvox", np.zeros((2, 2, 3)))
