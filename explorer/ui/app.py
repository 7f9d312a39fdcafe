"""Start the GUI: `python main.py` with no arguments calls `run_app`."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from explorer.ui.main_window import APP_NAME, MainWindow
from trainer.perf import tune_allocator


def run_app(argv: list[str] | None = None) -> int:
    """Open the main window and run the Qt event loop; returns the exit status."""
    tune_allocator()
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName(APP_NAME)
    window = MainWindow()
    window.show()
    return app.exec()
