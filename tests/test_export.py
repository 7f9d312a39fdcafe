"""Mesh, sequence and grid export: formats, numbering, atomic writes and errors."""

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import trimesh

from explorer.export import MESH_FORMATS, export_grid, export_mesh, export_sequence
from explorer.meshing import mesh_from_grid
from trainer.data.binvox import read_binvox
from trainer.data.mesh_files import read_mesh
from trainer.errors import ShapeExplorerError


@pytest.fixture(scope="module")
def mesh() -> trimesh.Trimesh:
    """A smooth closed blob with irregular float coordinates and unique vertices."""
    axis = (np.arange(24) + 0.5) / 24
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    field = 0.3 - np.sqrt((x - 0.45) ** 2 + (y - 0.5) ** 2 / 0.6 + (z - 0.55) ** 2)
    return mesh_from_grid(field, 0.0)


@pytest.mark.parametrize("fmt", MESH_FORMATS)
def test_mesh_round_trip(tmp_path: Path, mesh: trimesh.Trimesh, fmt: str) -> None:
    # Marching cubes shares vertices, so loaders that merge by position (STL, OFF, ...) rebuild
    # exactly the same vertex set. The project's reader turns GLB (+y up) back to +z up.
    path = export_mesh(mesh, tmp_path / f"blob.{fmt}")
    loaded = read_mesh(path, path.read_bytes())
    assert (len(loaded.vertices), len(loaded.faces)) == (len(mesh.vertices), len(mesh.faces))
    np.testing.assert_allclose(
        np.unique(loaded.vertices, axis=0), np.unique(mesh.vertices, axis=0), atol=1e-6
    )
    assert loaded.is_watertight
    assert loaded.volume == pytest.approx(mesh.volume, rel=1e-5)


def test_format_argument_and_upper_case_suffix(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    path = export_mesh(mesh, tmp_path / "upper.STL")
    assert len(trimesh.load(path, force="mesh").faces) == len(mesh.faces)
    path = export_mesh(mesh, tmp_path / "named_by_argument", fmt="ply")
    assert path == tmp_path / "named_by_argument"
    assert path.read_bytes().startswith(b"ply")


def test_files_get_the_usual_permissions(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    umask = os.umask(0)
    os.umask(umask)
    path = export_mesh(mesh, tmp_path / "blob.obj")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_sequence_numbering_skips_empty_frames(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    out_dir = tmp_path / "frames" / "run1"
    paths = export_sequence([mesh, None, mesh, None], out_dir, "walk", "obj")
    assert paths == [out_dir / "walk_001.obj", out_dir / "walk_003.obj"]
    assert sorted(out_dir.iterdir()) == paths


def test_sequence_width_follows_the_last_number(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    paths = export_sequence([None] * 999 + [mesh], tmp_path, "long", "stl")
    assert [p.name for p in paths] == ["long_1000.stl"]


def test_grid_npy_round_trip(tmp_path: Path) -> None:
    grid = np.random.default_rng(1).random((8, 8, 8))
    path = export_grid(grid, tmp_path / "grid.npy")
    loaded = np.load(path)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, grid.astype(np.float32))


def test_grid_binvox_is_binarised(tmp_path: Path) -> None:
    grid = np.random.default_rng(2).random((16, 16, 16))
    path = export_grid(grid, tmp_path / "grid.bin", fmt="binvox", threshold=0.7)
    np.testing.assert_array_equal(read_binvox(path), grid > 0.7)


def test_signed_distance_grid_binvox_keeps_the_inside(tmp_path: Path) -> None:
    axis = np.arange(16) - 7.5
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    distance = np.sqrt(x**2 + y**2 + z**2) - 5.0   # negative inside a ball of radius 5
    path = export_grid(distance, tmp_path / "ball.binvox", threshold=0.0, inside_low=True)
    solid = read_binvox(path)
    np.testing.assert_array_equal(solid, distance < 0)
    assert solid[8, 8, 8] and not solid[0, 0, 0]


def test_unknown_formats_are_refused(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    with pytest.raises(ShapeExplorerError, match=r"'xyz'.*stl, obj, ply, glb, off"):
        export_mesh(mesh, tmp_path / "blob.xyz")
    with pytest.raises(ShapeExplorerError, match="without a format suffix"):
        export_mesh(mesh, tmp_path / "blob")
    with pytest.raises(ShapeExplorerError, match="npy, binvox"):
        export_grid(np.zeros((4, 4, 4)), tmp_path / "grid.stl")
    with pytest.raises(ShapeExplorerError, match="'npy'"):
        export_sequence([mesh], tmp_path / "never", "x", "npy")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_a_one_line_error(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    path = tmp_path / "nowhere" / "blob.stl"
    with pytest.raises(ShapeExplorerError, match=r"Cannot write .*nowhere") as info:
        export_mesh(mesh, path)
    assert "\n" not in str(info.value)


def test_failed_replace_leaves_no_temp_file(tmp_path: Path, mesh: trimesh.Trimesh) -> None:
    (tmp_path / "taken.stl").mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(ShapeExplorerError, match=r"taken.stl"):
        export_mesh(mesh, tmp_path / "taken.stl")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.stl"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), ShapeExplorerError),
        (RuntimeError, RuntimeError),
    ],
)
def test_writer_failing_midway_keeps_the_old_file(
    tmp_path: Path,
    mesh: trimesh.Trimesh,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: type[Exception],
) -> None:
    def half_export(self: trimesh.Trimesh, file_obj, file_type: str) -> None:
        file_obj.write(b"solid half written")
        raise error

    path = tmp_path / "blob.stl"
    path.write_bytes(b"previous export")
    monkeypatch.setattr(trimesh.Trimesh, "export", half_export)
    with pytest.raises(expected):
        export_mesh(mesh, path)
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["blob.stl"]
