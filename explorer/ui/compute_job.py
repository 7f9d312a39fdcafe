"""A cancellable computation (an evaluation) on its own low-priority thread, whose progress and
outcome arrive on the GUI thread as signals.

The task is a plain function ``task(progress, cancelled)``: it calls ``progress(what, done,
total)`` as it goes and stops (by raising) once ``cancelled()`` returns True.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.ui.background import error_message
from trainer.thread_priority import lower_current_thread_priority

Progress = Callable[[str, int, int], None]
Task = Callable[[Progress, Callable[[], bool]], Any]
PROGRESS_INTERVAL_S = 0.1


class ComputeJob(QObject):
    """Runs a task once on a new thread after `start()`. Exactly one of ``succeeded(result)``,
    ``failed(message)`` or ``cancelled()`` arrives, after any ``progressed(what, done,
    total)``. Connect them to methods of GUI-thread QObjects."""

    progressed = Signal(str, int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, task: Task, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task = task
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shape-explorer-compute",
                                        daemon=True)
        self._last_progress = 0.0

    def start(self) -> ComputeJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the task to stop at its next check; ``cancelled`` follows."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Join the thread; False when it still runs after ``timeout_s``."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        lower_current_thread_priority()  # before the first torch op starts the OpenMP team
        try:
            result = self._task(self._progress, self._cancel.is_set)
        except Exception as exc:  # every failure must reach the user, not kill the thread
            if self._cancel.is_set():
                self._emit(self.cancelled)
            else:
                self._emit(self.failed, error_message(exc))
            return
        if self._cancel.is_set():
            self._emit(self.cancelled)
        else:
            self._emit(self.succeeded, result)

    def _progress(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._emit(self.progressed, what, done, total)

    @staticmethod
    def _emit(signal: Any, *values: object) -> None:
        with contextlib.suppress(RuntimeError):  # the receiver was deleted (window closed)
            signal.emit(*values)
