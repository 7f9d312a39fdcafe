"""The built-in procedural data set and the ShapeSet container."""

import numpy as np
import pytest

from trainer.data import SHAPE_KINDS, ShapeSet, make_procedural, voxelise
from trainer.errors import DataError

# kind -> (size triple for ``voxelise``, analytic volume of that solid)
SOLIDS = {
    "sphere": ((0.6, 0.6, 0.6), 4 / 3 * np.pi * 0.6**3),
    "ellipsoid": ((0.7, 0.4, 0.25), 4 / 3 * np.pi * 0.7 * 0.4 * 0.25),
    "box": ((0.6, 0.35, 0.2), 8 * 0.6 * 0.35 * 0.2),
    "cylinder": ((0.3, 0.6, 0.0), np.pi * 0.3**2 * 1.2),
    "cone": ((0.5, 0.55, 0.0), np.pi * 0.5**2 * 1.1 / 3),
    "torus": ((0.55, 0.2, 0.0), 2 * np.pi**2 * 0.55 * 0.2**2),
    "capsule": ((0.25, 0.45, 0.0), np.pi * 0.25**2 * 0.9 + 4 / 3 * np.pi * 0.25**3),
}


def rotation_about_axis(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' formula: the rotation by ``angle`` about the unit vector ``axis``."""
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def centre_of_mass(grid: np.ndarray) -> np.ndarray:
    """Centre of the occupied voxels in the [-1, 1]^3 coordinates of the grid."""
    d = grid.shape[0]
    return -1 + (np.argwhere(grid).mean(axis=0) + 0.5) * 2 / d


def principal_axis(grid: np.ndarray) -> np.ndarray:
    """Unit direction of largest spread of the occupied voxels."""
    points = np.argwhere(grid).astype(float)
    return np.linalg.eigh(np.cov(points.T))[1][:, -1]


def test_same_seed_gives_identical_grids_and_other_seeds_differ():
    a = make_procedural(35, 16, seed=3)
    b = make_procedural(35, 16, seed=3)
    c = make_procedural(35, 16, seed=4)
    np.testing.assert_array_equal(a.grids, b.grids)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.grids, c.grids)


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_shapes_and_dtypes(resolution):
    shapes = make_procedural(9, resolution, seed=0)
    assert shapes.grids.shape == (9, 1, resolution, resolution, resolution)
    assert shapes.grids.dtype == np.uint8
    assert set(np.unique(shapes.grids)) == {0, 1}
    assert shapes.labels.shape == (9,) and shapes.labels.dtype == np.int64
    assert shapes.resolution == resolution
    assert len(shapes) == 9
    floats = shapes.float_grids()
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, shapes.grids)
    assert not np.shares_memory(floats, shapes.grids)


def test_every_kind_appears_with_balanced_counts():
    shapes = make_procedural(72, 16, seed=1)
    assert shapes.class_names == SHAPE_KINDS
    counts = np.bincount(shapes.labels, minlength=len(SHAPE_KINDS))
    assert counts.min() == 10 and counts.max() == 11 and counts.sum() == 72
    assert not np.array_equal(shapes.labels, np.sort(shapes.labels))  # shuffled


def test_a_chosen_subset_of_kinds():
    shapes = make_procedural(10, 16, seed=1, kinds=["torus", "box"])
    assert shapes.class_names == ("torus", "box")
    assert np.bincount(shapes.labels).tolist() == [5, 5]


@pytest.mark.parametrize(("resolution", "n"), [(16, 210), (32, 70), (64, 14)])
def test_every_grid_is_filled_and_clear_of_the_border(resolution, n):
    grids = make_procedural(n, resolution, seed=7).grids[:, 0]
    occupied = grids.reshape(n, -1).sum(axis=1)
    assert occupied.min() >= 0.002 * resolution**3
    assert occupied.max() <= 0.4 * resolution**3
    faces = [grids[:, [0, -1]], grids[:, :, [0, -1]], grids[:, :, :, [0, -1]]]
    assert all(face.sum() == 0 for face in faces)


def test_sizes_and_positions_vary():
    shapes = make_procedural(140, 32, seed=2)
    grids = shapes.grids[:, 0]
    spheres = grids[shapes.labels == SHAPE_KINDS.index("sphere")]
    volumes = spheres.reshape(len(spheres), -1).sum(axis=1)
    assert volumes.max() > 4 * volumes.min()
    centres = np.array([centre_of_mass(grid) for grid in grids])
    assert np.all(centres.std(axis=0) > 0.1)


@pytest.mark.parametrize("kind", SHAPE_KINDS)
def test_voxel_volume_matches_the_analytic_volume(kind):
    size, volume = SOLIDS[kind]
    rotation = rotation_about_axis(np.array([1.0, 2.0, -0.5]), 0.8)
    grid = voxelise(kind, size, 64, rotation, offset=(0.1, -0.05, 0.02))
    voxel_volume = grid.sum() * (2 / 64) ** 3
    assert voxel_volume == pytest.approx(volume, rel=0.02)


def test_axis_convention_and_offset():
    offset = (0.125, -0.25, 0.0625)  # whole voxels at 32^3: the box covers voxels symmetrically
    grid = voxelise("box", (0.8, 0.3, 0.15), 32, offset=offset)
    extents = [np.ptp(np.argwhere(grid)[:, axis]) for axis in range(3)]
    assert extents[0] > extents[1] > extents[2]
    np.testing.assert_allclose(centre_of_mass(grid), offset, atol=1e-6)


def test_rotation_maps_the_solid_frame_to_the_grid():
    # a cone (base at local -z) has its centre of mass a quarter of its height above the base
    upright = voxelise("cone", (0.5, 0.6, 0.0), 32)
    assert centre_of_mass(upright) == pytest.approx([0.0, 0.0, -0.3], abs=0.03)
    z_to_x = rotation_about_axis(np.eye(3)[1], np.pi / 2)  # sends local z to grid +x
    turned = voxelise("cone", (0.5, 0.6, 0.0), 32, z_to_x)
    assert centre_of_mass(turned) == pytest.approx([-0.3, 0.0, 0.0], abs=0.03)
    assert abs(principal_axis(voxelise("capsule", (0.2, 0.5, 0.0), 32, z_to_x))[0]) > 0.99


def test_generated_orientations_are_random():
    shapes = make_procedural(210, 32, seed=5)
    boxes = shapes.grids[shapes.labels == SHAPE_KINDS.index("box"), 0]
    axes = np.array([principal_axis(grid) for grid in boxes])
    # an axis-aligned box has a principal axis along a grid axis; a turned box does not
    assert np.mean(np.abs(axes).max(axis=1) < 0.9) > 0.4
    cosines = np.abs(axes @ axes.T)[np.triu_indices(len(axes), k=1)]
    assert cosines.mean() < 0.7


def test_unrotated_solids_are_axis_aligned_copies_of_the_same_draws():
    turned = make_procedural(70, 32, seed=5)
    aligned = make_procedural(70, 32, seed=5, rotate=False)
    assert np.array_equal(turned.labels, aligned.labels)
    boxes = aligned.grids[aligned.labels == SHAPE_KINDS.index("box"), 0].astype(bool)
    for box in boxes:  # an axis-aligned box fills its bounding box
        rows = [np.flatnonzero(box.any(axis=tuple(a for a in range(3) if a != k)))
                for k in range(3)]
        assert box.sum() == np.prod([r[-1] - r[0] + 1 for r in rows])
    # spheres look the same in every orientation: the same draws give the same spheres
    spheres = turned.labels == SHAPE_KINDS.index("sphere")
    differing = (turned.grids[spheres] != aligned.grids[spheres]).sum(axis=(1, 2, 3, 4))
    assert differing.max() <= 4


@pytest.mark.parametrize(
    ("n", "resolution", "kinds"),
    [(0, 16, SHAPE_KINDS), (-3, 16, SHAPE_KINDS), (2.5, 16, SHAPE_KINDS), (10, 24, SHAPE_KINDS),
     (10, 128, SHAPE_KINDS), (10, 16, ()), (10, 16, ("sphere", "blob")),
     (10, 16, ("box", "box"))],
)
def test_invalid_arguments_raise_data_error(n, resolution, kinds):
    with pytest.raises(DataError):
        make_procedural(n, resolution, seed=0, kinds=kinds)


def test_voxelise_rejects_an_unknown_kind():
    with pytest.raises(DataError, match="blob"):
        voxelise("blob", (0.5, 0.5, 0.5), 16)


def tagged_set(n: int, n_classes: int) -> ShapeSet:
    """Constant float grids whose value identifies the shape: grid i holds i / n."""
    tags = (np.arange(n, dtype=np.float32) / n)[:, None, None, None, None]
    grids = np.broadcast_to(tags, (n, 1, 2, 2, 2)).copy()
    names = tuple(f"class{k}" for k in range(n_classes))
    return ShapeSet(grids, np.arange(n) % n_classes, names)


def ids(shapes: ShapeSet, n: int) -> np.ndarray:
    return np.rint(shapes.grids[:, 0, 0, 0, 0] * n).astype(int)


def test_split_is_a_stratified_partition():
    shapes = tagged_set(70, 7)
    train, val = shapes.split(0.2, seed=11)
    assert (len(train), len(val)) == (56, 14)
    train_ids, val_ids = ids(train, 70), ids(val, 70)
    assert sorted(np.concatenate([train_ids, val_ids]).tolist()) == list(range(70))
    np.testing.assert_array_equal(val.labels, val_ids % 7)
    assert np.bincount(val.labels).tolist() == [2] * 7
    assert train.class_names == val.class_names == shapes.class_names


def test_split_is_deterministic_by_seed():
    shapes = tagged_set(60, 3)
    first = ids(shapes.split(0.25, seed=4)[1], 60)
    again = ids(shapes.split(0.25, seed=4)[1], 60)
    other = ids(shapes.split(0.25, seed=5)[1], 60)
    np.testing.assert_array_equal(first, again)
    assert set(first) != set(other)
    assert len(first) == 15


def test_split_respects_the_fraction_with_uneven_classes():
    shapes = ShapeSet(np.zeros((40, 1, 2, 2, 2), np.uint8), np.array([0] * 30 + [1] * 10),
                      ("many", "few"))
    train, val = shapes.split(0.3, seed=0)
    assert (len(train), len(val)) == (28, 12)
    assert np.bincount(val.labels).tolist() == [9, 3]


def test_split_needs_two_shapes_and_a_sane_fraction():
    one = make_procedural(1, 16, seed=0)
    with pytest.raises(DataError):
        one.split(0.2, seed=0)
    two = make_procedural(2, 16, seed=0)
    train, val = two.split(0.01, seed=0)
    assert (len(train), len(val)) == (1, 1)
    for fraction in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(DataError):
            two.split(fraction, seed=0)


@pytest.mark.parametrize(
    ("grids", "labels", "message"),
    [
        (np.zeros((3, 2, 2, 2), np.uint8), [0, 0, 0], "shape"),
        (np.zeros((3, 2, 2, 2, 2), np.uint8), [0, 0, 0], "shape"),
        (np.zeros((3, 1, 2, 2, 3), np.uint8), [0, 0, 0], "cubic"),
        (np.zeros((0, 1, 2, 2, 2), np.uint8), [], "at least one"),
        (np.full((3, 1, 2, 2, 2), 2, np.uint8), [0, 0, 0], "0 and 1"),
        (np.full((3, 1, 2, 2, 2), 1.5, np.float32), [0, 0, 0], r"\[0, 1\]"),
        (np.zeros((3, 1, 2, 2, 2), np.int32), [0, 0, 0], "int32"),
        (np.zeros((3, 1, 2, 2, 2), np.uint8), [0, 0], "3 labels"),
        (np.zeros((3, 1, 2, 2, 2), np.uint8), [0, 1, 2], "index"),
    ],
)
def test_shapeset_rejects_bad_data(grids, labels, message):
    with pytest.raises(DataError, match=message):
        ShapeSet(grids, np.array(labels), ("a", "b"))


def test_subset_keeps_the_chosen_shapes():
    shapes = tagged_set(10, 2)
    part = shapes.subset([7, 2])
    assert ids(part, 10).tolist() == [7, 2]
    assert part.labels.tolist() == [1, 0]
    assert part.class_names == ("class0", "class1")


@pytest.mark.parametrize("kind", SHAPE_KINDS)
def test_signed_distances_hold_the_same_solids_and_are_distances(kind):
    occupancy = make_procedural(6, 32, 11, kinds=(kind,))
    sdf = make_procedural(6, 32, 11, kinds=(kind,), grid="sdf", truncation=3.0)
    assert sdf.signed and sdf.grids.dtype == np.float16
    np.testing.assert_array_equal(sdf.labels, occupancy.labels)
    values = sdf.grids[:, 0].astype(np.float32)
    np.testing.assert_array_equal(values <= 0, occupancy.grids[:, 0] == 1)   # negative inside
    assert values.min() == -1 and values.max() == 1                        # truncated
    # |grad d| = 1 (in voxels) within the band, away from creases and edges
    gradient = np.gradient(values * 3.0, axis=(1, 2, 3))
    norm = np.sqrt(sum(g * g for g in gradient))
    band = np.abs(values) < 0.5
    assert np.median(norm[band]) == pytest.approx(1.0, abs=0.02)
    assert np.percentile(norm[band], 90) < 1.06


def test_signed_distance_set_validation():
    with pytest.raises(DataError, match="grid must be"):
        make_procedural(4, 16, 0, grid="udf")
    grids = np.full((2, 1, 4, 4, 4), -0.5, dtype=np.float32)
    assert ShapeSet(grids, [0, 0], ("a",), signed=True).subset([1]).signed
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        ShapeSet(grids, [0, 0], ("a",))
    with pytest.raises(DataError, match=r"\[-1, 1\]"):
        ShapeSet(grids * 3, [0, 0], ("a",), signed=True)
