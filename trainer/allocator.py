"""The glibc allocator setting CPU training needs; torch-free, so the GUI can apply it before
it imports anything heavy."""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_TRIM_THRESHOLD_BYTES = 1 << 30
MMAP_THRESHOLD_BYTES = 200 << 20
"""Blocks this large or larger are still mmap-ed (and returned when freed)."""


def tune_allocator() -> bool:
    """Stop glibc from mmap-ing and trimming the large, short-lived conv buffers on every step.

    Without this each big allocation is a fresh mmap with page faults. Only blocks of
    MMAP_THRESHOLD_BYTES or more (full-resolution activations at 64^3) stay mmap-ed: kept in the
    heap they fragment it and raise the resident peak more than they speed training up
    (benchmarks/README.md has the figures). One arena for all threads: a thread's own arena (the
    GUI trains on a worker thread) still mmaps buffers that outgrow its 64 MiB heaps, with twice
    the page faults.
    Call it before starting threads. Returns False where glibc is absent (then nothing changes).
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return all(libc.mallopt(option, value) for option, value in (
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES),
            (_M_ARENA_MAX, 1)))
    except (OSError, AttributeError):
        return False
