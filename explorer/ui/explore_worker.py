"""The Explore view's background thread: it decodes, meshes and writes files (exports,
screenshots); the newest request of a channel wins.

A view submits a task (a plain callable) on a named channel. Until the worker picks it up, a
newer task on the same channel replaces it, so dragging a slider queues at most one decode
however fast it moves. Results come back on the GUI thread through ``ExploreWorker``, which drops
stale ones: on an ordinary channel only the newest request's result is delivered; on a *live*
channel (a dragged slider) any result newer than the last one shown is, so the mesh keeps
following the slider during the drag. ``cancel`` drops everything in flight on a channel.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from trainer.errors import ShapeExplorerError

Task = Callable[[], Any]
Callback = Callable[[Any], None]
ErrorCallback = Callable[[str], None]


@dataclass
class _Request:
    rid: int
    task: Task
    on_done: Callback
    on_error: ErrorCallback | None


class _Pending:
    """The newest not-yet-started request per channel, shared by both threads under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, _Request] = {}
        self._scheduled = False

    def put(self, channel: str, request: _Request) -> bool:
        """Store ``request``, replacing an older one; True when the worker must be woken."""
        with self._lock:
            self._requests[channel] = request
            wake, self._scheduled = not self._scheduled, True
            return wake

    def take(self) -> tuple[str, _Request] | None:
        """The oldest waiting channel's request, or None (then the worker sleeps)."""
        with self._lock:
            if not self._requests:
                self._scheduled = False
                return None
            channel = next(iter(self._requests))
            return channel, self._requests.pop(channel)

    def discard(self, channel: str | None) -> None:
        with self._lock:
            if channel is None:
                self._requests.clear()
            else:
                self._requests.pop(channel, None)


class _Runner(QObject):
    """Lives on the worker thread and runs waiting requests until none are left."""

    finished = Signal(str, object, object)  # channel, request, result
    failed = Signal(str, object, str)       # channel, request, message

    def __init__(self, pending: _Pending) -> None:
        super().__init__()
        self._pending = pending

    @Slot()
    def drain(self) -> None:
        while (item := self._pending.take()) is not None:
            channel, request = item
            try:
                result = request.task()
            except ShapeExplorerError as exc:
                self.failed.emit(channel, request, str(exc))
            except Exception as exc:  # a bad input must reach the user, not kill the thread
                self.failed.emit(channel, request, f"{type(exc).__name__}: {exc}")
            else:
                self.finished.emit(channel, request, result)


@dataclass
class _Channel:
    latest: int = 0       # newest request submitted
    delivered: int = 0    # newest request whose result was handed on
    floor: int = 0        # requests up to this id were cancelled
    live: bool = False
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


class ExploreWorker(QObject):
    """Owns the worker thread; lives on the GUI thread and calls back there."""

    error = Signal(str, str)   # channel, message: for requests submitted without on_error
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._channels: dict[str, _Channel] = {}
        self._pending = _Pending()
        self._thread = QThread(self)   # a child: deleted only after ``destroyed`` stopped it
        self._thread.setObjectName("explore-worker")
        self._worker = _Runner(self._pending)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.drain)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()
        stop = functools.partial(_stop_thread, self._thread, self._pending)
        self.destroyed.connect(stop)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def submit(self, channel: str, task: Task, on_done: Callback, *, live: bool = False,
               on_error: ErrorCallback | None = None) -> int:
        """Run ``task()`` on the worker and pass its result to ``on_done`` on the GUI thread.

        Returns the request id. A newer submission on ``channel`` replaces this one if it has
        not started yet; see the module docstring for which results are delivered.
        """
        state = self._channels.setdefault(channel, _Channel())
        state.live = live
        state.latest = next(state.ids)
        if self._pending.put(channel, _Request(state.latest, task, on_done, on_error)):
            self._wake.emit()
        return state.latest

    def cancel(self, channel: str | None = None) -> None:
        """Forget waiting requests and drop in-flight results on ``channel`` (or on all)."""
        self._pending.discard(channel)
        for name, state in self._channels.items():
            if channel is None or name == channel:
                state.floor = state.latest

    def is_idle(self) -> bool:
        """True when no delivered result is still to come on any channel."""
        return all(s.delivered >= s.latest or s.floor >= s.latest
                   for s in self._channels.values())

    def shutdown(self) -> None:
        """Stop the worker thread after its current task (idempotent)."""
        _stop_thread(self._thread, self._pending)

    def _accept(self, channel: str, rid: int) -> bool:
        state = self._channels[channel]
        fresh = rid > state.floor and (rid > state.delivered if state.live
                                       else rid == state.latest)
        if fresh:
            state.delivered = rid
        return fresh

    @Slot(str, object, object)
    def _on_finished(self, channel: str, request: _Request, result: Any) -> None:
        if self._accept(channel, request.rid):
            request.on_done(result)

    @Slot(str, object, str)
    def _on_failed(self, channel: str, request: _Request, message: str) -> None:
        if not self._accept(channel, request.rid):
            return
        if request.on_error is not None:
            request.on_error(message)
        else:
            self.error.emit(channel, message)


def _stop_thread(thread: QThread, pending: _Pending) -> None:
    pending.discard(None)
    if thread.isRunning():
        thread.quit()
        thread.wait()
