"""Python's cyclic garbage collection on the GUI thread only.

The collector runs on whichever thread allocates when a generation's count passes its
threshold. If that is a worker thread (training, decoding) and the garbage holds a Qt widget
created on the GUI thread, the widget's C++ destructor runs on the worker: Qt forbids it, and
with PySide it can deadlock on the interpreter lock. So automatic collection is switched off
and a timer on the GUI thread collects each generation whose count is over its threshold, as
the interpreter would have (the pattern of PyQt / PySide applications with worker threads).
Reference counting still frees everything not in a cycle at once.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    """Create on the GUI thread; while it lives, cycles are collected there and only there."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()
        self.destroyed.connect(gc.enable)

    def collect_due(self) -> int:
        """Collect the oldest generation whose count is over its threshold; objects freed."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                return gc.collect(generation)
        return 0
