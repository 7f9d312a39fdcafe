"""A background thread lowers its own priority, and its OpenMP compute threads inherit it."""

from __future__ import annotations

import os
import sys
import threading

import pytest
import torch

from trainer.thread_priority import (
    BACKGROUND_NICE_INCREMENT,
    MAX_NICE,
    lower_current_thread_priority,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="per-thread priorities are a Linux feature")


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def _threads() -> set[int]:
    return {int(t) for t in os.listdir("/proc/self/task")}


def test_a_background_thread_and_its_compute_pool_run_below_their_creator() -> None:
    creator = _nice(threading.get_native_id())
    expected = min(creator + BACKGROUND_NICE_INCREMENT, MAX_NICE)
    seen: dict[str, object] = {}

    def work() -> None:
        before = _threads()
        seen["returned"] = lower_current_thread_priority()
        seen["own"] = _nice(threading.get_native_id())
        torch.set_num_threads(2)  # a team of two even on a one-core runner
        conv = torch.nn.Conv3d(2, 4, 3)
        with torch.no_grad():
            conv(torch.randn(8, 2, 16, 16, 16))
        seen["pool"] = {tid: _nice(tid) for tid in _threads() - before}

    threads = torch.get_num_threads()
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    torch.set_num_threads(threads)  # a thread's setting is also the default of later threads

    assert seen["returned"] == seen["own"] == expected
    assert _nice(threading.get_native_id()) == creator  # the creator keeps its priority
    assert seen["pool"] and set(seen["pool"].values()) == {expected}
