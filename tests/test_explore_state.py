"""The Explore state: code and origin, threshold, gallery and sequence recipes, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.explore_state import ZERO, CodeOrigin, ExploreState
from explorer.session import ExplorerSession
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.families import family_of

SMALL = dict(resolution=16, channels=(4, 4, 8, 8))


def session(**settings) -> ExplorerSession:
    config = TrainConfig(**SMALL, **{"latent_dim": 4, **settings})
    return ExplorerSession(family_of(config).build_model(), config)


@pytest.fixture
def state() -> ExploreState:
    return ExploreState()


def record(state: ExploreState) -> list[str]:
    events: list[str] = []
    for event in ("session", "code", "threshold", "gallery", "sequence"):
        state.subscribe(event, lambda _s, e=event: events.append(e))
    return events


def test_a_new_model_starts_at_zero_and_tells_every_listener(state) -> None:
    events = record(state)
    state.set_session(session())
    assert events == ["session", "threshold", "code", "gallery", "sequence"]
    np.testing.assert_array_equal(state.code, np.zeros(4))
    assert state.origin == ZERO and state.threshold == 0.5
    with pytest.raises(ValueError, match="unknown event"):
        state.subscribe("colour", lambda s: None)


def test_edits_remember_where_the_code_came_from(state) -> None:
    state.set_session(session())
    state.set_code(np.array([1.0, 0, 0, 0]), CodeOrigin("gallery", "gallery #2", 1))
    state.edit_unit(2, -1.5)
    np.testing.assert_array_equal(state.code, [1, 0, -1.5, 0])
    assert state.origin.kind == "edit" and "gallery #2" in state.origin.label
    state.reset_to_origin()
    np.testing.assert_array_equal(state.code, [1, 0, 0, 0])
    state.reset_to_zero()
    np.testing.assert_array_equal(state.code, np.zeros(4))
    state.reset_to_origin()                            # the origin outlives a reset to zero
    np.testing.assert_array_equal(state.code, [1, 0, 0, 0])
    with pytest.raises(ValueError, match="4 numbers"):
        state.set_code(np.zeros(3))


def test_a_model_of_the_same_layout_keeps_the_place_another_starts_afresh(state) -> None:
    state.set_session(session())
    state.set_code(np.array([0.5, 0, 0, 0]), CodeOrigin("gallery", "gallery #1", 0))
    state.next_gallery()
    state.traverse(extent=2.0, steps=3)
    state.set_session(session(seed=7))                 # the same run, later weights
    np.testing.assert_array_equal(state.code, [0.5, 0, 0, 0])
    assert state.gallery.seed == 1 and state.sequence is not None
    state.set_session(session(latent="categorical", categorical_classes=2, latent_dim=2))
    np.testing.assert_array_equal(state.code, [1, 0, 1, 0])   # every variable at class 0
    assert state.sequence is None and state.origin == ZERO


def test_class_pickers_edit_one_hot_blocks(state) -> None:
    state.set_session(session(latent="categorical", categorical_classes=3, latent_dim=2))
    state.edit_unit(1, 2)
    np.testing.assert_array_equal(state.code, [1, 0, 0, 0, 0, 1])


def test_the_threshold_stays_inside_the_value_range_and_follows_the_model(state) -> None:
    state.set_session(session())
    events = record(state)
    state.set_threshold(0.3)
    assert state.threshold == 0.3 and events == ["threshold"]
    for bad in (0.0, 1.0, float("nan")):
        with pytest.raises(ValueError, match="strictly between"):
            state.set_threshold(bad)
    state.set_session(session(grid="sdf", likelihood="gaussian"))
    assert state.threshold == 0.0                      # signed distances: meshed at 0
    state.set_threshold(-0.2)
    assert state.threshold == -0.2


def test_the_gallery_recipe_draws_reproducible_samples(state) -> None:
    model = session()
    state.set_session(model)
    state.set_gallery(seed=41, temperature=0.5)
    state.next_gallery()
    assert (state.gallery.seed, state.gallery.temperature) == (42, 0.5)
    np.testing.assert_array_equal(state.gallery.codes(model), model.prior_samples(12, 42, 0.5))
    with pytest.raises(ValueError, match="seed"):
        state.set_gallery(seed=-1)


def test_a_traversal_sweeps_the_selected_unit_of_the_current_code(state) -> None:
    model = session()
    state.set_session(model)
    state.set_code(np.array([0.1, 0.2, 0.3, 0.4]))
    state.select_unit(3)
    state.traverse(extent=1.0, steps=3)
    codes = state.sequence.traversal_codes(model)
    np.testing.assert_allclose(codes[:, 3], [-1, 0, 1])
    np.testing.assert_allclose(codes[:, :3], np.tile([0.1, 0.2, 0.3], (3, 1)))
    assert state.sequence.title == "z3 traversal"
    with pytest.raises(ValueError, match="interpolates by"):
        state.interpolate("a", "b", 3, "cubic")


def test_the_gallery_samples_a_fitted_density_only_with_gaussian_codes_and_data(state) -> None:
    config = TrainConfig(**SMALL, latent_dim=4, dataset_size=20)
    shapes = make_procedural(20, 16, 0)
    with_data = ExplorerSession(family_of(config).build_model(), config, shapes=shapes)
    state.set_session(session())                       # no data set
    with pytest.raises(ValueError, match="data set"):
        state.set_gallery(source="fitted")
    state.set_session(with_data)
    state.set_gallery(source="fitted", seed=3)
    np.testing.assert_allclose(state.gallery.codes(state.session), with_data.fitted_samples(12, 3))
    train = shapes.split(config.val_fraction, config.seed)[0]
    codes = with_data.encode(train.grids)
    means = [codes[train.labels == k].mean(0) for k in np.unique(train.labels)
             if (train.labels == k).sum() >= 2]             # one Gaussian per class
    np.testing.assert_allclose([c.mean for c in with_data._density.components], means,
                               atol=1e-6)
    state.set_session(session())                       # the data set is gone again
    assert state.gallery.source == "prior"
