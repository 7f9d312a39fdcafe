"""Mesh voxelisation: volumes against analytic solids, both filling methods, axes, thin parts,
chunking, unusable geometry, and grid resampling."""

import numpy as np
import pytest
import trimesh

from trainer.data import voxelize
from trainer.data.voxelize import resample_grid, voxelize_mesh
from trainer.errors import DataError


def span(resolution: int) -> int:
    """Voxels spanned by a mesh's longest side."""
    return resolution - 2 * voxelize.MARGIN_VOXELS


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return (a & b).sum() / (a | b).sum()


def holey(mesh: trimesh.Trimesh, every: int) -> trimesh.Trimesh:
    """A copy of ``mesh`` without every ``every``-th face: not watertight any more."""
    copy = mesh.copy()
    copy.update_faces(np.arange(len(copy.faces)) % every != 0)
    assert not copy.is_watertight
    return copy


@pytest.mark.parametrize("resolution", [16, 32])
def test_sphere_volume_matches_the_analytic_volume(resolution):
    grid = voxelize_mesh(trimesh.creation.icosphere(subdivisions=4), resolution)
    assert grid.dtype == np.uint8 and grid.shape == (resolution,) * 3
    analytic = 4 / 3 * np.pi * (span(resolution) / 2) ** 3
    assert grid.sum() == pytest.approx(analytic, rel=0.03)


@pytest.mark.parametrize("resolution", [16, 32])
def test_box_volume_and_extent(resolution):
    grid = voxelize_mesh(trimesh.creation.box(extents=(1.0, 0.6, 0.4)), resolution)
    side = span(resolution)
    assert grid.sum() == pytest.approx(side * 0.6 * side * 0.4 * side, rel=0.03)
    # The longest side fills the grid but for one empty voxel on each side.
    xs = np.flatnonzero(grid.any(axis=(1, 2)))
    assert (xs[0], xs[-1]) == (1, resolution - 2)


def test_axes_are_kept_and_z_is_up():
    # A cone on its base (apex at +z) lying in a long box along x.
    cone = trimesh.creation.cone(radius=0.5, height=1.0)
    grid = voxelize_mesh(cone, 32)
    layers = grid.sum(axis=(0, 1))
    assert layers[2] > 4 * layers[-4] > 0
    bar = voxelize_mesh(trimesh.creation.box(extents=(2.0, 1.0, 0.5)), 32)
    extent = [np.ptp(np.flatnonzero(bar.any(axis=other))) for other in [(1, 2), (0, 2), (0, 1)]]
    assert extent[0] > extent[1] > extent[2]


@pytest.mark.parametrize("resolution", [16, 32])
def test_mesh_with_holes_fills_like_the_watertight_mesh(resolution):
    sphere = trimesh.creation.icosphere(subdivisions=3)
    watertight = voxelize_mesh(sphere, resolution)
    with_holes = voxelize_mesh(holey(sphere, 25), resolution)
    centre = resolution // 2
    assert with_holes[centre - 1:centre + 1, centre - 1:centre + 1, centre - 1:centre + 1].all()
    assert iou(watertight, with_holes) > 0.95


def test_open_sheets_stay_as_surfaces():
    seat = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    back = trimesh.Trimesh([[0, 1, 0], [1, 1, 0], [1, 1, 1], [0, 1, 1]], [[0, 1, 2], [0, 2, 3]])
    grid = voxelize_mesh(trimesh.util.concatenate([seat, back]), 16)
    side = span(16)
    # Two one-voxel sheets (about 2 * 14 * 14 voxels), not the quadrant between them.
    assert 2 * side**2 <= grid.sum() <= 3 * side**2


def test_thin_parts_of_watertight_meshes_are_kept():
    top = trimesh.creation.box(extents=(1.0, 1.0, 0.1))
    top.apply_translation((0, 0, 0.45))
    legs = [trimesh.creation.box(extents=(0.02, 0.02, 0.95)) for _ in range(4)]
    for leg, (x, y) in zip(legs, [(-0.45, -0.45), (-0.45, 0.45), (0.45, -0.45), (0.45, 0.45)],
                           strict=True):
        leg.apply_translation((x, y, 0))
    table = trimesh.util.concatenate([top, *legs])
    assert table.is_watertight
    grid = voxelize_mesh(table, 32)
    # Legs 0.6 voxels thick: every layer below the top holds one voxel column per leg ...
    assert (grid[:, :, 2:25].sum(axis=(0, 1)) >= 4).all()
    # ... attached to the top.
    assert grid[:, :, 2:30].any(axis=(0, 1)).all()


def test_overlapping_closed_parts_give_their_union():
    cross = trimesh.util.concatenate([trimesh.creation.box(extents=(1.0, 0.4, 0.4)),
                                      trimesh.creation.box(extents=(0.4, 0.4, 1.0))])
    grid = voxelize_mesh(cross, 32)
    assert grid[14:18, 14:18, 14:18].all()
    bar = span(32) * (0.4 * span(32)) ** 2
    assert grid.sum() == pytest.approx(2 * bar - 0.4 * bar, rel=0.05)


def test_closed_mesh_with_inconsistent_winding_uses_crossing_parity():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    faces = sphere.faces.copy()
    faces[::7] = faces[::7, ::-1]
    flipped = trimesh.Trimesh(sphere.vertices, faces, process=False)
    assert flipped.is_watertight and not flipped.is_winding_consistent
    np.testing.assert_array_equal(voxelize_mesh(flipped, 16), voxelize_mesh(sphere, 16))


def test_small_chunks_give_the_same_grid(monkeypatch):
    mesh = holey(trimesh.creation.icosphere(subdivisions=3), 40)
    closed = trimesh.creation.icosphere(subdivisions=3)
    expected = voxelize_mesh(mesh, 32), voxelize_mesh(closed, 32)
    monkeypatch.setattr(voxelize, "_CHUNK", 97)
    monkeypatch.setattr(voxelize, "_FACE_CHUNK", 50)
    np.testing.assert_array_equal(voxelize_mesh(mesh, 32), expected[0])
    np.testing.assert_array_equal(voxelize_mesh(closed, 32), expected[1])


@pytest.mark.parametrize("mesh, words", [
    (trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=int)), "no triangles"),
    (trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 1]], [[0, 1, 2]]), "zero volume"),
    (trimesh.Trimesh([[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 1, 0]], [[0, 1, 2]], process=False),
     "zero area"),
    (trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, np.nan, 1]], [[0, 1, 2]], process=False),
     "NaN"),
])
def test_unusable_geometry_raises(mesh, words):
    with pytest.raises(DataError, match=words):
        voxelize_mesh(mesh, 16)


def test_unreferenced_vertices_do_not_change_the_framing():
    box = trimesh.creation.box(extents=(1.0, 0.6, 0.4))
    stray = trimesh.Trimesh(np.vstack([box.vertices, [[50.0, 50.0, 50.0]]]), box.faces,
                            process=False)
    np.testing.assert_array_equal(voxelize_mesh(stray, 16), voxelize_mesh(box, 16))


def test_resample_grid():
    rng = np.random.default_rng(0)
    grid = (rng.random((8, 8, 8)) < 0.3).astype(np.uint8)
    assert resample_grid(grid, 8).dtype == np.uint8
    np.testing.assert_array_equal(resample_grid(grid, 8), grid)
    up = resample_grid(grid, 16)          # integer growth: repeat
    np.testing.assert_array_equal(up[::2, ::2, ::2], grid)
    np.testing.assert_array_equal(resample_grid(up, 8), grid)   # integer shrink: block mean
    single = np.zeros((32, 32, 32), dtype=bool)
    single[5, 6, 7] = True
    assert resample_grid(single, 16).sum() == 1   # thin parts survive shrinking
    sphere = trimesh.creation.icosphere(subdivisions=3)
    for size in (32, 24):                         # shrinking keeps the volume
        ball = voxelize_mesh(sphere, size)
        assert resample_grid(ball, 16).sum() == pytest.approx(ball.sum() * (16 / size) ** 3,
                                                              rel=0.06)


def test_a_mesh_narrower_than_its_largest_coordinate_is_scaled_without_warnings() -> None:
    import warnings

    import trimesh

    from trainer.data.mesh_files import _unit_box_transform
    box = trimesh.creation.box((0.5, 0.3, 0.2))
    box.apply_translation((0.5, 0.5, 0.5))            # spans less than its largest coordinate
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no overflow warning from the size check
        transform = _unit_box_transform(box)
    assert transform is not None
    corners = trimesh.transform_points(box.vertices, transform)
    assert abs((corners.max(0) - corners.min(0)).max() - 1) < 1e-9
