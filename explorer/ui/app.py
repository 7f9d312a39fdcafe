"""Start the GUI: `python main.py` with no arguments calls `run_app`.

Only Qt and light modules are imported before the window shows; the main window imports torch
and the other heavy modules in the background, then opens the start-up model (the bundled
``assets/default_model.pt``, or ``$SHAPE_EXPLORER_MODEL``; see ``explorer.bundled``).
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from explorer.bundled import startup_model
from explorer.ui.main_window import MainWindow
from explorer.ui.settings import APPLICATION, ORGANIZATION
from trainer.allocator import tune_allocator


def run_app(argv: list[str] | None = None) -> int:
    """Open the main window on ``startup_model()`` and run the Qt event loop; returns the exit
    status."""
    tune_allocator()  # before any thread starts
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow(startup_model=startup_model(), import_in_background=True)
    window.show()
    return app.exec()
