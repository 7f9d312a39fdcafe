"""One-off background jobs (checkpoint I/O) whose outcome arrives on the GUI thread as a signal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from trainer.budgets import ERROR_CHARS
from trainer.error_line import printable
from trainer.errors import ShapeExplorerError

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shape-explorer-io")
T = TypeVar("T")


def error_message(exc: BaseException) -> str:
    """A one-line message for a person (escaped and bounded as on the command line): project
    errors as they are, others with their type."""
    if isinstance(exc, ShapeExplorerError):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "out of memory: try a smaller resolution, batch size or data set"
    else:
        text = f"unexpected error ({type(exc).__name__}): {exc}"
    return printable(text, ERROR_CHARS)


def wait_for(fn: Callable[[], T]) -> T:
    """Run `fn` on an I/O thread and block until it returns, for when the GUI must wait anyway
    (closing); its exception is raised here."""
    return _POOL.submit(fn).result()


class BackgroundJob(QObject):
    """Runs `fn()` on a pool thread. Connect the signals to methods of GUI-thread QObjects,
    then call `start()`; `succeeded(result)` or `failed(message)` arrives once."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.future: Future[Any] | None = None

    def start(self) -> BackgroundJob:
        self.future = _POOL.submit(self._fn)
        self.future.add_done_callback(self._report)
        return self

    def _report(self, future: Future[Any]) -> None:
        exc = future.exception()
        with contextlib.suppress(RuntimeError):  # the receiver was deleted (window closed)
            if exc is None:
                self.succeeded.emit(future.result())
            else:
                self.failed.emit(error_message(exc))
