"""Cycles are collected on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtWidgets import QWidget

from explorer.ui.gui_thread_gc import GuiThreadGarbageCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self
        self.widget = QWidget()          # a Qt object that must die on the GUI thread


def test_worker_allocations_never_collect_and_the_gui_timer_does(qtbot, gui_thread_gc) -> None:
    assert isinstance(gui_thread_gc, GuiThreadGarbageCollector) and not gc.isenabled()
    cycle = Cycle()
    alive = weakref.ref(cycle)
    del cycle
    collected_on: list[str] = []
    gc.callbacks.append(lambda phase, _info: phase == "start"
                        and collected_on.append(threading.current_thread().name))
    try:
        kept: list[list[int]] = []

        def allocate() -> None:          # far past the first threshold: no collection here
            kept.extend([i] for i in range(20_000))
        worker = threading.Thread(target=allocate, name="worker")
        worker.start()
        worker.join()
        assert alive() is not None and "worker" not in collected_on
        qtbot.waitUntil(lambda: alive() is None, timeout=5000)
        assert set(collected_on) == {threading.main_thread().name}
    finally:
        gc.callbacks.pop()
