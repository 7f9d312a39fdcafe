"""The Complete view's inputs, Qt-free: the shape observed (its true grid when known), how it
is observed (kind, viewpoint, seed), the observation made, the method and its completion.

Changing an input drops what was made from it: a new shape drops its observation and
completion, a new observation its completion.
"""

from __future__ import annotations

import numpy as np

from explorer.completion_tasks import METHODS, Completion
from trainer.completion.observation import OBSERVATION_KINDS, Observation

DEFAULT_VIEWPOINT = (45.0, 25.0)
"""The scan's viewpoint before the camera moves: the 3D view's start position."""


class CompleteState:
    """What the Complete view shows (module docstring)."""

    def __init__(self) -> None:
        self.truth: np.ndarray | None = None
        self.label = ""
        self.kind = OBSERVATION_KINDS[0]
        self.viewpoint = DEFAULT_VIEWPOINT
        self.seed = 0
        self.method = METHODS[0]
        self.observation: Observation | None = None
        self.completion: Completion | None = None

    def set_shape(self, truth: np.ndarray, label: str) -> None:
        """Observe the boolean grid ``truth`` (D, D, D) called ``label`` from now on."""
        truth = np.asarray(truth)
        if truth.ndim != 3 or len(set(truth.shape)) != 1:
            raise ValueError(f"a shape to observe is a cubic grid, got shape {truth.shape}")
        self.truth, self.label = truth.astype(bool), label
        self.observation = self.completion = None

    def set_scan(self, kind: str, viewpoint: tuple[float, float], seed: int) -> None:
        """How the next observation is made."""
        if kind not in OBSERVATION_KINDS:
            raise ValueError(f"unknown observation kind {kind!r}")
        self.kind, self.viewpoint, self.seed = kind, (float(viewpoint[0]),
                                                      float(viewpoint[1])), int(seed)

    def set_observation(self, observation: Observation) -> None:
        self.observation, self.completion = observation, None

    def set_method(self, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
        self.method = method

    def set_completion(self, completion: Completion | None) -> None:
        self.completion = completion

    def clear(self) -> None:
        """Nothing to observe (another model)."""
        self.truth, self.label = None, ""
        self.observation = self.completion = None
