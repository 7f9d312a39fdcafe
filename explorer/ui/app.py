"""Start the GUI: `python main.py` with no arguments calls `run_app`.

Only Qt and light modules are imported before the window shows; the main window imports torch
and the other heavy modules in the background, then opens the start-up model (the bundled
``assets/default_model.pt``, or ``$SHAPE_EXPLORER_MODEL``; see ``explorer.bundled``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from explorer.bundled import startup_model
from explorer.open_path import what_to_open
from explorer.ui.gui_thread_gc import GuiThreadGarbageCollector
from explorer.ui.main_window import MainWindow
from explorer.ui.settings import APPLICATION, ORGANIZATION
from trainer.allocator import tune_allocator


def prepare_qt() -> None:
    """Settings Qt reads when the application starts (call before creating it).

    A window that asks to be repainted is repainted at the next turn of the event loop; Qt's
    default waits 5 ms per request first, which delays the 3D view's new frame after a slider
    move. Set it in the environment to choose another value.
    """
    os.environ.setdefault("QT_QPA_UPDATE_IDLE_TIME", "0")


def run_app(argv: list[str] | None = None, open_path: Path | None = None) -> int:
    """Open the main window and run the Qt event loop; returns the exit status
    (see `leave`).

    The window opens ``startup_model()``, then ``open_path`` when given (see
    ``explorer.ui.file_drop``); a checkpoint given as ``open_path`` replaces the start-up model.
    """
    tune_allocator()  # before any thread starts
    prepare_qt()
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    GuiThreadGarbageCollector(app)
    replaced = open_path is not None and what_to_open(open_path) == "checkpoint"
    window = MainWindow(startup_model=None if replaced else startup_model(),
                        import_in_background=True)
    window.show()
    if open_path is not None:
        window.file_opener.open(open_path)
    return leave(app.exec())


def leave(status: int) -> int:
    """Once the window has closed: end the process at once while a decoder compilation is
    still running, else return ``status``.

    By then the window has saved what the person asked for, stopped training and the decode
    worker, and written its settings. A compilation on its background thread cannot be
    interrupted, and the interpreter would wait for it at exit (seconds), or crash in its C++
    teardown if it did not; so the process flushes its output and exits without either.
    """
    fast_decode = sys.modules.get("explorer.fast_decode")  # not imported: nothing compiles
    if fast_decode is None or not fast_decode.compiling():
        return status
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(status)
