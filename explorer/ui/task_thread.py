"""A long task on its own thread with partial results and Stop (Orange's TaskState pattern).

The task is a plain function of a ``TaskControl`` (explorer.completion_tasks): it calls
``report(value)`` as it goes and checks ``stopped()``. ``LongTask`` lives on the GUI thread and
re-emits the values as signals there: ``progressed`` at most every ``interval`` seconds (the
newest value wins; ``progressed`` for the last one always arrives before ``succeeded``), then
``succeeded(result)`` or ``failed(message)``, then ``ended``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.completion_tasks import TaskControl
from explorer.ui.background import error_message
from trainer.thread_priority import lower_current_thread_priority

PROGRESS_INTERVAL_S = 0.1


class LongTask(QObject):
    """Runs ``fn(control)`` on a new thread once ``start`` is called (module docstring)."""

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, fn: Callable[[TaskControl], Any], parent: QObject | None = None, *,
                 interval: float = PROGRESS_INTERVAL_S, low_priority: bool = False) -> None:
        super().__init__(parent)
        self._fn, self._interval, self._low_priority = fn, interval, low_priority
        self._stop = threading.Event()
        self._last = 0.0
        self._held: list[Any] = []   # a value not yet sent (throttled)
        self._thread = threading.Thread(target=self._run, name="shape-explorer-task",
                                        daemon=True)

    def start(self) -> LongTask:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the task to stop (it ends at its next check)."""
        self._stop.set()

    def wait(self, seconds: float | None = None) -> bool:
        """Join the thread; False when it still runs after ``seconds``."""
        if self._thread.is_alive():
            self._thread.join(seconds)
        return not self._thread.is_alive()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def _report(self, value: Any) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._held.clear()
            self.progressed.emit(value)
        else:
            self._held[:] = [value]

    def _run(self) -> None:
        if self._low_priority:
            lower_current_thread_priority()
        try:
            result = self._fn(TaskControl(self._report, self._stop.is_set))
        except Exception as exc:  # every failure must reach the person, not kill the thread
            self._flush()
            self._emit(self.failed, error_message(exc))
        else:
            self._flush()
            self._emit(self.succeeded, result)
        self._emit(self.ended)

    def _flush(self) -> None:
        if self._held:
            self._emit(self.progressed, self._held.pop())

    def _emit(self, signal, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the receiver was deleted (window closed)
            signal.emit(*args)
