"""The Explore view's state, Qt-free: the model explored, the current code and where it came
from, the threshold, and the recipes of the gallery and of the sequence.

Widgets bind to an ``ExploreState``: they call its methods when a person acts and listen to
its events to show what changed. Nothing here decodes: the view turns events into work for its
background worker. Listeners are plain callables, called synchronously on the thread that
changed the state (the GUI thread).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from explorer.latent_map import path_codes
from explorer.session import ExplorerSession
from trainer.grid_values import OCCUPANCY_LEVEL

EVENTS = ("session", "code", "threshold", "gallery", "sequence")
"""What listeners can subscribe to; each is called with the state."""

GALLERY_SIZE = 12
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class CodeOrigin:
    """Where the current code came from: 'zero', 'gallery', 'frame', 'dataset', 'file',
    'completion' (the Complete view) or 'edit' (a person moved a slider or class picker).
    ``index``: the gallery sample or frame."""

    kind: str
    label: str
    index: int | None = None


ZERO = CodeOrigin("zero", "z = 0")


@dataclass(frozen=True)
class GalleryRecipe:
    """The gallery's samples: ``size`` codes drawn at ``seed`` and ``temperature`` from the
    prior (``source`` 'prior') or from Gaussians fitted to the data set's codes per class
    ('fitted')."""

    seed: int = 0
    temperature: float = 1.0
    size: int = GALLERY_SIZE
    source: str = "prior"

    def codes(self, session: ExplorerSession) -> np.ndarray:
        """The recipe's codes (size, code_dim); 'fitted' fits on the first call (slow)."""
        if self.source == "fitted":
            return session.fitted_samples(self.size, self.seed, self.temperature)
        return session.prior_samples(self.size, self.seed, self.temperature)


SOURCES = ("prior", "fitted")

@dataclass(frozen=True)
class SequenceRecipe:
    """An interpolation between two endpoints, a traversal of one unit of a base code, or a
    path through several codes.

    ``kind`` is 'interpolation' (``method``, ``steps``, ``start`` and ``end``: whatever the view
    resolves to codes, e.g. explore_tasks.Endpoint), 'traversal' (``unit``, ``values`` and
    ``base``, the code traversed) or 'path' (``waypoints``, ``method`` and ``steps`` per leg).
    """

    kind: str
    steps: int = 0
    method: str = "linear"
    start: Any = None
    end: Any = None
    unit: int = 0
    values: tuple[float, ...] = ()
    base: tuple[float, ...] = ()
    waypoints: tuple[tuple[float, ...], ...] = ()

    @property
    def title(self) -> str:
        if self.kind == "traversal":
            return f"z{self.unit} traversal"
        if self.kind == "path":
            return f"{self.method} path through {len(self.waypoints)} shapes"
        return f"{self.method} interpolation"

    def traversal_codes(self, session: ExplorerSession) -> np.ndarray:
        """The traversal's codes (len(values), code_dim)."""
        return session.traverse(np.asarray(self.base), self.unit, np.asarray(self.values))

    def path_codes(self, session: ExplorerSession) -> np.ndarray:
        """The path's codes: ``steps`` per leg, through every waypoint."""
        return path_codes(session, [np.asarray(w) for w in self.waypoints], self.steps,
                          self.method)


Listener = Callable[["ExploreState"], None]


class ExploreState:
    """What the Explore view shows, and the rules for changing it."""

    def __init__(self) -> None:
        self.session: ExplorerSession | None = None
        self.code = np.zeros(0)
        self.origin = ZERO
        self.origin_code = np.zeros(0)
        """The code "Reset to origin" returns to: the last code loaded from somewhere."""
        self.threshold = OCCUPANCY_LEVEL
        self.gallery = GalleryRecipe()
        self.sequence: SequenceRecipe | None = None
        self.selected_unit = 0
        self._listeners: dict[str, list[Listener]] = {event: [] for event in EVENTS}

    # --- events ----------------------------------------------------------------------------
    def subscribe(self, event: str, listener: Listener) -> None:
        """Call ``listener(state)`` after every change of ``event`` (one of EVENTS)."""
        if event not in self._listeners:
            raise ValueError(f"unknown event {event!r}; events: {', '.join(EVENTS)}")
        self._listeners[event].append(listener)

    def _emit(self, *events: str) -> None:
        for event in events:
            for listener in list(self._listeners[event]):
                listener(self)

    # --- the model -------------------------------------------------------------------------
    def set_session(self, session: ExplorerSession | None) -> None:
        """Explore ``session`` (None: nothing).

        A session whose codes have the same layout as the last one's (width and editor) keeps
        the code, its origin, the gallery recipe and the sequence, so a model that is still
        training is explored at the same place; another starts at the family's zero code with no
        sequence. The threshold moves to the model's iso-level when the range of decoded values
        changes (probabilities <-> signed distances).
        """
        if session is None:
            self.session, self.sequence = None, None
            self._emit("session")
            return
        same_layout = self.keeps_place(session)
        old, self.session = self.session, session
        if not same_layout:
            self.code = session.family.zero_code()
            self.origin, self.origin_code = ZERO, self.code.copy()
            self.sequence = None
            self.selected_unit = 0
        if old is None or old.value_range != session.value_range:
            self.threshold = session.iso_level
        if self.gallery.source == "fitted" and not session.can_fit_density:
            self.gallery = replace(self.gallery, source="prior")
        self._emit("session", "threshold", "code", "gallery", "sequence")

    def keeps_place(self, session: ExplorerSession) -> bool:
        """Whether ``set_session(session)`` keeps the code, gallery and sequence: the codes of
        the model explored now and of ``session`` have the same layout."""
        old = self.session
        return (old is not None and old.code_dim == session.code_dim
                and old.family.editor == session.family.editor)

    # --- the code --------------------------------------------------------------------------
    def set_code(self, code: np.ndarray, origin: CodeOrigin | None = None) -> None:
        """Show ``code``; with an ``origin`` it also becomes the code to reset to."""
        code = np.array(code, dtype=np.float64)
        if self.session is not None and code.shape != (self.session.code_dim,):
            raise ValueError(f"a code of this model has {self.session.code_dim} numbers, "
                             f"got shape {code.shape}")
        self.code = code
        if origin is not None:
            self.origin, self.origin_code = origin, code.copy()
        elif self.origin.kind != "edit":
            self.origin = CodeOrigin("edit", f"edited from {self.origin.label}")
        self._emit("code")

    def edit_unit(self, unit: int, value: float) -> None:
        """Set one unit: a Gaussian dimension to ``value``, or a categorical variable to the
        class ``value`` (one-hot)."""
        if self.session is None:
            return
        family = self.session.family
        code = self.code.copy()
        if family.editor == "class":
            blocks = code.reshape(family.units, -1)
            blocks[unit] = 0.0
            blocks[unit, int(value)] = 1.0
        else:
            code[unit] = value
        self.set_code(code)

    def reset_to_zero(self) -> None:
        """The family's zero code, as an edit: the origin to reset to stays."""
        if self.session is not None:
            self.set_code(self.session.family.zero_code())

    def reset_to_origin(self) -> None:
        self.code = self.origin_code.copy()
        if self.origin.kind == "edit":
            self.origin = ZERO
        self._emit("code")

    def select_unit(self, unit: int) -> None:
        """The dimension (or variable) a traversal sweeps."""
        self.selected_unit = unit

    # --- threshold, gallery, sequence ------------------------------------------------------
    def set_threshold(self, threshold: float) -> None:
        """The iso-level, kept strictly inside the model's value range."""
        low, high = self.session.value_range if self.session is not None else (0.0, 1.0)
        if not math.isfinite(threshold) or not low < threshold < high:
            raise ValueError(f"the threshold must lie strictly between {low} and {high}")
        if threshold != self.threshold:
            self.threshold = threshold
            self._emit("threshold")

    def set_gallery(self, seed: int | None = None, temperature: float | None = None,
                    source: str | None = None) -> None:
        """Draw the gallery at another seed, temperature or source (unchanged ones stay)."""
        recipe = replace(self.gallery, **{k: v for k, v in
                                          (("seed", seed), ("temperature", temperature),
                                           ("source", source))
                                          if v is not None})
        if recipe.source not in SOURCES:
            raise ValueError(f"the gallery samples from one of {SOURCES}, not {recipe.source!r}")
        if recipe.source == "fitted" and self.session is not None \
                and not self.session.can_fit_density:
            raise ValueError("sampling a fitted density needs Gaussian codes and the data set")
        if not 0 <= recipe.seed <= MAX_SEED:
            raise ValueError(f"the seed must lie in 0..{MAX_SEED}")
        if not (math.isfinite(recipe.temperature) and recipe.temperature >= 0):
            raise ValueError("the temperature must be a non-negative number")
        self.gallery = recipe
        self._emit("gallery")

    def next_gallery(self) -> None:
        """New samples: the next seed."""
        self.set_gallery(seed=(self.gallery.seed + 1) % (MAX_SEED + 1))

    def interpolate(self, start: Any, end: Any, steps: int, method: str) -> None:
        """Make the sequence an interpolation from ``start`` to ``end``."""
        if self.session is not None and method not in self.session.interpolation_methods:
            raise ValueError(f"this model interpolates by {self.session.interpolation_methods}, "
                             f"not {method!r}")
        if steps < 2:
            raise ValueError("an interpolation needs at least 2 steps")
        self.set_sequence(SequenceRecipe("interpolation", steps, method, start, end))

    def follow_path(self, waypoints: list[np.ndarray], steps_per_leg: int,
                    method: str = "linear") -> None:
        """Make the sequence a path through ``waypoints`` (codes, in order)."""
        if self.session is not None and method not in self.session.interpolation_methods:
            raise ValueError(f"this model interpolates by {self.session.interpolation_methods}, "
                             f"not {method!r}")
        if len(waypoints) < 2:
            raise ValueError("a path needs at least two shapes")
        if steps_per_leg < 2:
            raise ValueError("each leg of a path needs at least 2 steps")
        self.set_sequence(SequenceRecipe(
            "path", steps_per_leg, method,
            waypoints=tuple(tuple(float(v) for v in np.asarray(w)) for w in waypoints)))

    def traverse(self, extent: float, steps: int) -> None:
        """Make the sequence a sweep of the selected unit of the current code."""
        if self.session is None:
            return
        values = self.session.family.traversal_values(extent, steps)
        self.set_sequence(SequenceRecipe(
            "traversal", len(values), unit=self.selected_unit,
            values=tuple(float(v) for v in values), base=tuple(self.code.tolist())))

    def set_sequence(self, recipe: SequenceRecipe | None) -> None:
        self.sequence = recipe
        self._emit("sequence")
