"""Marching cubes on occupancy and signed-distance grids."""

import itertools

import numpy as np
import pytest
import trimesh

from explorer.meshing import mesh_from_grid, smooth_mesh

CENTRE = np.array([0.5, 0.5, 0.5])
RADIUS = 0.3


def radius_grid(size: int) -> np.ndarray:
    """Distance of each voxel centre from the cube centre, in unit-cube coordinates."""
    axis = (np.arange(size) + 0.5) / size
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2)


def sphere_probabilities(size: int = 64) -> np.ndarray:
    """Smooth occupancy, 0.5 on the sphere of RADIUS, rising to 1 inside."""
    return (1.0 / (1.0 + np.exp((radius_grid(size) - RADIUS) * 4 * size))).astype(np.float32)


def test_sphere_is_closed_outward_and_the_right_size() -> None:
    mesh = mesh_from_grid(sphere_probabilities())
    assert isinstance(mesh, trimesh.Trimesh)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(4 / 3 * np.pi * RADIUS**3, rel=0.05)
    radial = mesh.triangles_center - CENTRE
    assert np.all(np.einsum("ij,ij->i", radial, mesh.face_normals) > 0)
    assert np.all(np.einsum("ij,ij->i", mesh.vertices - CENTRE, mesh.vertex_normals) > 0)
    distances = np.linalg.norm(mesh.vertices - CENTRE, axis=1)
    assert distances == pytest.approx(RADIUS, abs=0.5 / 64)


def test_binary_box_faces_lie_on_voxel_boundaries() -> None:
    grid = np.zeros((16, 16, 16), dtype=np.uint8)
    grid[2:5, 3:9, 4:15] = 1
    mesh = mesh_from_grid(grid)
    np.testing.assert_allclose(mesh.bounds, [[2 / 16, 3 / 16, 4 / 16], [5 / 16, 9 / 16, 15 / 16]])


def test_box_touching_the_border_is_closed() -> None:
    grid = np.zeros((16, 16, 16), dtype=np.float32)
    grid[:, 5:, :8] = 1.0
    mesh = mesh_from_grid(grid)
    assert mesh.is_watertight
    assert mesh.volume > 0
    np.testing.assert_allclose(mesh.bounds, [[0, 5 / 16, 0], [1, 1, 0.5]])


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_constant_grids_have_no_surface(value: float) -> None:
    assert mesh_from_grid(np.full((8, 8, 8), value, dtype=np.float32)) is None


def test_threshold_outside_the_values_has_no_surface() -> None:
    grid = sphere_probabilities(16)
    assert mesh_from_grid(grid, threshold=1.5) is None
    assert mesh_from_grid(grid, threshold=-0.5) is None


def test_higher_threshold_gives_smaller_volume() -> None:
    grid = sphere_probabilities(32)
    volumes = [mesh_from_grid(grid, threshold).volume for threshold in (0.1, 0.3, 0.5, 0.7, 0.9)]
    assert all(a > b > 0 for a, b in itertools.pairwise(volumes))


def test_signed_distance_grid_with_inside_low() -> None:
    sdf = radius_grid(48) - RADIUS
    mesh = mesh_from_grid(sdf, 0.0, inside_low=True)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(4 / 3 * np.pi * RADIUS**3, rel=0.05)
    np.testing.assert_allclose(mesh.vertices, mesh_from_grid(-sdf, 0.0).vertices)
    smaller = mesh_from_grid(sdf, -0.1, inside_low=True)
    assert smaller.volume == pytest.approx(4 / 3 * np.pi * (RADIUS - 0.1) ** 3, rel=0.05)


def test_values_exactly_at_the_threshold_give_no_degenerate_faces() -> None:
    # Integer field: many voxel centres lie exactly on the surface.
    index = np.arange(16)
    x, y, z = np.meshgrid(index, index, index, indexing="ij")
    grid = 25.0 - ((x - 8) ** 2 + (y - 8) ** 2 + (z - 8) ** 2)
    mesh = mesh_from_grid(grid, 0.0)
    merged = trimesh.Trimesh(mesh.vertices, mesh.faces)  # merges vertices, as a reload would
    assert len(merged.faces) == len(mesh.faces)
    assert merged.is_watertight


def test_rejects_grids_that_are_not_3d() -> None:
    with pytest.raises(ValueError, match="3D"):
        mesh_from_grid(np.zeros((4, 4)))


@pytest.mark.parametrize("inside_low", [False, True])
def test_meshing_the_shapes_bounding_box_gives_the_whole_grids_mesh(inside_low: bool) -> None:
    """A small off-centre blob and noise: the mesh of the cropped box equals marching cubes
    over the whole padded grid (same vertices, faces and normals)."""
    from skimage.measure import marching_cubes

    rng = np.random.default_rng(0)
    grid = rng.uniform(0.0, 0.4, (32, 32, 32)).astype(np.float32)
    grid[3:11, 20:27, 5:9] += 0.5
    if inside_low:
        grid = -grid
    mesh = mesh_from_grid(grid, -0.5 if inside_low else 0.5, inside_low=inside_low)
    whole = -grid if inside_low else grid
    padded = np.pad(whole, 1, constant_values=whole.min())
    vertices, faces, normals, _ = marching_cubes(padded, level=0.5, gradient_direction="ascent",
                                                 allow_degenerate=False)
    assert mesh.bounds[1][0] < 0.4   # the blob, small and off-centre, is what was meshed
    np.testing.assert_allclose(mesh.vertices, (vertices - 0.5) / 32, atol=1e-6)
    np.testing.assert_array_equal(mesh.faces, faces)
    np.testing.assert_allclose(mesh.vertex_normals, normals, atol=1e-5)


def test_trimesh_hashes_meshes_with_xxhash() -> None:
    """Every decoded mesh is a Trimesh whose given normals are cached under a hash of its
    arrays; without xxhash trimesh falls back to a hash 3-4x slower per mesh (a dependency)."""
    from trimesh import caching

    assert caching.hash_fast is not caching.hash_fallback


def test_taubin_smoothing_takes_out_voxel_ripples_and_keeps_the_volume() -> None:
    size = 24
    axis = (np.arange(size) + 0.5) / size
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    radius = np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2)
    raw = mesh_from_grid((radius < 0.35).astype(np.float32))    # a binary grid: stair steps
    smooth = smooth_mesh(raw)
    assert np.array_equal(smooth.faces, raw.faces) and smooth is not raw

    def ripple(mesh) -> float:
        return float(np.std(np.linalg.norm(mesh.vertices - 0.5, axis=1)))

    assert ripple(smooth) < 0.75 * ripple(raw)
    assert abs(smooth.volume / raw.volume - 1) < 0.05
    assert smooth.vertex_normals.shape == smooth.vertices.shape
