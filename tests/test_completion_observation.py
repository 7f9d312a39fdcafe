"""Partial-observation simulators: where free and occupied voxels lie, what a cut or a box
hides, and how much of a grid a scan observes."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.completion.observation import (
    OBSERVATION_KINDS,
    Observation,
    camera_position,
    simulate,
    view_direction,
    voxel_centres,
)
from trainer.data.procedural import make_procedural, voxelise
from trainer.errors import ShapeExplorerError

D = 16


@pytest.fixture(scope="module")
def solids() -> np.ndarray:
    return make_procedural(21, D, 5).grids[:, 0]


def sphere(radius: float = 0.5) -> np.ndarray:
    return voxelise("sphere", (radius, 0, 0), D)


def test_free_voxels_lie_between_the_camera_and_the_surface():
    grid = sphere(0.5)
    obs = simulate("single-view", grid, np.random.default_rng(0), viewpoint=(0.0, 0.0))
    centres = voxel_centres(D)
    assert obs.free.any() and obs.occupied.any()
    assert not (obs.free & (grid > 0)).any()
    assert (grid[obs.occupied] > 0).all()
    # the camera is on +x: free space fills the gap in front of the sphere, never behind it
    free = centres[obs.free]
    assert (free[:, 0] > 0).all()
    assert (np.hypot(free[:, 1], free[:, 2]) < 0.5 + 2 / D).all()
    # the occupied voxels are the sphere's camera-facing side
    assert (centres[obs.occupied][:, 0] > -2 / D).all()
    # no free voxel hides behind the sphere: the segment from the camera to it does not cross
    # the sphere (shrunk by a voxel for the voxelisation)
    camera = camera_position((0.0, 0.0))
    offset = free - camera
    length = np.linalg.norm(offset, axis=1)
    ray = offset / length[:, None]
    along = -(camera @ ray.T)                       # depth of the point nearest the centre
    miss = np.linalg.norm(camera + along[:, None] * ray, axis=1)
    shrunk = 0.5 - 2 / D
    crosses = miss < shrunk
    entry = along[crosses] - np.sqrt(shrunk**2 - miss[crosses] ** 2)
    assert (entry > length[crosses]).all()


@pytest.mark.parametrize("viewpoint", [(30.0, 20.0), (200.0, -10.0), (90.0, 89.0)])
def test_a_cut_hides_the_half_facing_away_from_the_camera(solids, viewpoint):
    grid = solids[3]
    obs = simulate("cut", grid, np.random.default_rng(0), viewpoint=viewpoint)
    centres = voxel_centres(D)
    centroid = centres[grid > 0].mean(axis=0)
    facing = (centres - centroid) @ view_direction(viewpoint) >= 0
    assert not obs.observed[~facing].any()
    np.testing.assert_array_equal(obs.occupied[facing], grid[facing] > 0)
    np.testing.assert_array_equal(obs.free[facing], grid[facing] == 0)
    assert 0 < (obs.occupied.sum() / (grid > 0).sum()) < 1


def test_a_removed_box_hides_a_box_holding_part_of_the_shape(solids):
    grid = solids[0]
    obs = simulate("box", grid, np.random.default_rng(1))
    hidden = np.argwhere(~obs.observed)
    low, high = hidden.min(0), hidden.max(0) + 1
    assert len(hidden) == np.prod(high - low)           # one axis-aligned box
    assert (grid[~obs.observed] > 0).any()
    assert obs.viewpoint is None


def test_observed_fractions_are_in_the_expected_ranges(solids):
    rng = np.random.default_rng(2)
    fraction = {kind: np.mean([simulate(kind, g, rng).observed_fraction for g in solids])
                for kind in OBSERVATION_KINDS}
    assert 0.03 < fraction["single-view"] < 0.2          # the published 4-10 % at 32^3
    assert fraction["noisy"] < fraction["single-view"]   # dropped rays
    assert fraction["multi-view"] > fraction["single-view"]
    assert 0.3 < fraction["cut"] < 0.8
    assert fraction["box"] > 0.85


def test_a_noisy_scan_loses_rays_and_misplaces_surface_points(solids):
    grid = solids[1]
    clean = simulate("single-view", grid, np.random.default_rng(0), viewpoint=(10.0, 30.0))
    noisy = simulate("noisy", grid, np.random.default_rng(0), viewpoint=(10.0, 30.0))
    assert noisy.occupied.sum() < clean.occupied.sum()
    assert not (noisy.occupied & noisy.free).any()
    assert (grid[noisy.occupied] == 0).any() or (grid[noisy.free] > 0).any()


def test_a_random_viewpoint_comes_from_the_generator(solids):
    a = simulate("single-view", solids[2], np.random.default_rng(9))
    b = simulate("single-view", solids[2], np.random.default_rng(9))
    assert a.viewpoint == b.viewpoint
    np.testing.assert_array_equal(a.occupied, b.occupied)


def test_bad_input_is_refused():
    with pytest.raises(ShapeExplorerError, match="unknown observation kind"):
        simulate("lidar", sphere(), np.random.default_rng(0))
    with pytest.raises(ShapeExplorerError, match="cubic"):
        simulate("cut", np.zeros((4, 5, 6)), np.random.default_rng(0))
    both = np.zeros((D, D, D), dtype=bool)
    both[3, 3, 3] = True
    with pytest.raises(ValueError, match="both occupied and free"):
        Observation(both, both, "single-view")
