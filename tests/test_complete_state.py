"""The Complete view's Qt-free state: what a new input drops, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.complete_state import CompleteState
from explorer.completion_tasks import Completion, observe


def test_a_new_shape_or_scan_drops_what_was_made_from_the_old_one() -> None:
    state = CompleteState()
    truth = np.zeros((16, 16, 16), dtype=bool)
    truth[4:12, 4:12, 4:12] = True
    state.set_shape(truth, "a cube")
    state.set_scan("cut", (90.0, 0.0), 3)
    observation = observe(state.truth, state.kind, state.viewpoint, state.seed)
    assert observation.kind == "cut" and observation.viewpoint == (90.0, 0.0)
    state.set_observation(observation)
    state.set_completion(Completion("mean", None, truth.astype(np.float32), None))
    state.set_observation(observation)
    assert state.completion is None
    state.set_completion(Completion("mean", None, truth.astype(np.float32), None))
    state.set_shape(~truth, "the rest")
    assert state.observation is None and state.completion is None and state.label == "the rest"


def test_bad_inputs_are_refused_with_a_message() -> None:
    state = CompleteState()
    with pytest.raises(ValueError, match="cubic"):
        state.set_shape(np.zeros((4, 4)), "flat")
    with pytest.raises(ValueError, match="unknown observation kind"):
        state.set_scan("x-ray", (0.0, 0.0), 0)
    with pytest.raises(ValueError, match="methods: aml, ml, naive, mean"):
        state.set_method("guess")
