"""The latent map's core (Qt-free): projections, placement of new codes, neighbours, paths and
attribute directions."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import latent_map as lm
from explorer.explore_state import ExploreState
from explorer.session import ExplorerSession
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.families import family_of


@pytest.fixture(scope="module")
def session() -> ExplorerSession:
    """An untrained 16^3 model (its codes still differ per shape) with 40 solids."""
    config = TrainConfig(resolution=16, latent_dim=6, channels=(4, 8, 8, 8), dataset_size=40,
                         seed=2)
    model = family_of(config, "vae").build_model().eval()
    return ExplorerSession(model, config, shapes=make_procedural(40, 16, 2))


def test_pca_maps_codes_to_2d_deterministically_and_projects_new_codes_exactly() -> None:
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((300, 8)) * np.linspace(3, 0.5, 8)
    first = lm.fit_pca(codes)
    again = lm.fit_pca(codes.copy())
    assert first.points.shape == (300, 2)
    np.testing.assert_array_equal(first.points, again.points)
    # the signs are fixed: flipping the data set's rows' order gives the same plane and sign
    np.testing.assert_allclose(lm.fit_pca(codes[::-1]).points, first.points[::-1], atol=1e-9)
    for row in first.components:
        assert row[np.argmax(np.abs(row))] > 0
    # the first axis carries the largest variance, and a data code projects onto its point
    assert first.points[:, 0].var() > first.points[:, 1].var()
    np.testing.assert_allclose(first.project(codes[7]), first.points[7], atol=1e-12)
    assert first.project(codes[:5]).shape == (5, 2)


def test_tsne_is_seeded_places_data_codes_on_their_points_and_can_be_cancelled() -> None:
    pytest.importorskip("openTSNE")
    rng = np.random.default_rng(1)
    codes = np.concatenate([rng.normal(c, 0.3, (40, 5)) for c in (0, 4)])
    task = lm.TaskState()
    first = lm.fit_tsne(codes, task)
    assert first.points.shape == (80, 2) and task.progress == 1.0
    np.testing.assert_allclose(lm.fit_tsne(codes).points, first.points)
    np.testing.assert_allclose(first.project(codes[3]), first.points[3], atol=1e-6)
    # a code near cluster 1 lands among cluster 1's points
    placed = first.project(codes[40:].mean(axis=0) + 0.01)
    centres = first.points[:40].mean(axis=0), first.points[40:].mean(axis=0)
    assert np.linalg.norm(placed - centres[1]) < np.linalg.norm(placed - centres[0])
    stopped = lm.TaskState()
    stopped.cancel()
    with pytest.raises(lm.Cancelled):
        lm.fit_tsne(codes, stopped)


def test_tsne_without_opentsne_says_how_to_install_it(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_opentsne(name, *args, **kwargs):
        if name.startswith("openTSNE"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_opentsne)
    with pytest.raises(lm.ShapeExplorerError, match=r"pip install .*\[maps\]"):
        lm.fit_tsne(np.zeros((10, 3)))


def test_the_map_encodes_the_validation_shapes_with_names_and_is_cached(
        session: ExplorerSession) -> None:
    cache = lm.MapCache()
    latent_map = cache.compute(session, lm.VALIDATION, lm.PCA)
    data = latent_map.data
    _, val = session.shapes.split(session.config.val_fraction, session.config.seed)
    assert len(data) == len(val) and data.codes.shape == (len(val), session.code_dim)
    np.testing.assert_array_equal(data.labels, val.labels)
    np.testing.assert_allclose(data.codes, session.encode(val.grids), atol=1e-5)
    assert data.names[0] == session.shape_name(int(data.positions[0]))
    assert latent_map.points.shape == (len(val), 2)
    assert cache.compute(session, lm.VALIDATION, lm.PCA) is latent_map
    everything = cache.compute(session, lm.ALL, lm.PCA)
    assert len(everything.data) == len(session.shapes)


def test_encoding_stops_when_cancelled(session: ExplorerSession) -> None:
    task = lm.TaskState()
    task.cancel()
    with pytest.raises(lm.Cancelled):
        lm.encode_for_map(session, lm.ALL, task)


def test_nearest_neighbours_are_sorted_by_latent_distance() -> None:
    codes = np.array([[0.0, 0], [5, 0], [1, 0], [0, 3], [0.5, 0]])
    np.testing.assert_array_equal(lm.nearest_neighbours(codes, [0.1, 0], 3), [0, 4, 2])
    assert len(lm.nearest_neighbours(codes, [0, 0], 10)) == 5


def test_a_path_passes_through_every_picked_code(session: ExplorerSession) -> None:
    rng = np.random.default_rng(3)
    picked = list(rng.standard_normal((3, session.code_dim)))
    codes = lm.path_codes(session, picked, 5)
    assert codes.shape == (9, session.code_dim)
    for i, index in enumerate((0, 4, 8)):
        np.testing.assert_allclose(codes[index], picked[i])
    np.testing.assert_allclose(codes[2], (picked[0] + picked[1]) / 2)
    with pytest.raises(lm.ShapeExplorerError, match="two"):
        lm.path_codes(session, picked[:1], 5)

    state = ExploreState()
    state.set_session(session)
    state.follow_path(picked, 5)
    assert state.sequence.title == "linear path through 3 shapes"
    np.testing.assert_allclose(state.sequence.path_codes(session), codes)


def test_an_attribute_direction_is_the_difference_of_the_group_means() -> None:
    codes = np.array([[0.0, 0], [2, 0], [0, 4], [0, 6]])
    direction = lm.attribute_direction(codes, np.array([0, 1]), np.array([2, 3]))
    np.testing.assert_allclose(direction, [-1, 5])
    np.testing.assert_allclose(lm.along([1, 1], direction, 0.5), [0.5, 3.5])
    with pytest.raises(lm.ShapeExplorerError, match="at least one"):
        lm.attribute_direction(codes, np.array([], dtype=int), np.array([1]))


def test_maps_are_stored_on_disk_per_model_and_shapes(session: ExplorerSession,
                                                      tmp_path) -> None:
    from explorer.map_store import MapStore

    store = MapStore(tmp_path)
    first = lm.MapCache(store).compute(session, lm.VALIDATION, lm.PCA)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = store.load(session, lm.VALIDATION, lm.PCA)
    np.testing.assert_array_equal(again.points, first.points)
    np.testing.assert_array_equal(again.data.codes, first.data.codes)
    assert again.data.names == first.data.names
    np.testing.assert_allclose(again.projection.project(first.data.codes[0]), first.points[0])
    assert store.load(session, lm.ALL, lm.PCA) is None
    other = ExplorerSession(family_of(session.config, "vae").build_model().eval(),
                            session.config, shapes=session.shapes)
    assert store.load(other, lm.VALIDATION, lm.PCA) is None      # other weights
    (tmp_path / f"{store.key(session, lm.VALIDATION, lm.PCA)}.npz").write_bytes(b"broken")
    assert store.load(session, lm.VALIDATION, lm.PCA) is None
    (tmp_path / "file").write_text("not a folder")
    MapStore(tmp_path / "file").save("key", first)   # never raises
