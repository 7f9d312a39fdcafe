"""Run background compute below the interactive threads: a per-thread nice value (Linux).

On Linux the nice value belongs to a thread, not the process, and a thread created later (such
as OpenMP's worker pool, which a thread starts on its first parallel torch op) inherits its
creator's. So a background thread that lowers its own priority before its first torch op runs
its whole compute team below the GUI thread, which then gets a core whenever it wakes up. Where
per-thread priorities are not available (other systems) nothing changes.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICE_INCREMENT = 10
"""How far below its creator a background thread runs: at nice +10 a busy thread gets about a
tenth of the CPU time of a contending nice 0 thread, yet all of a core nobody else wants."""

MAX_NICE = 19


def lower_current_thread_priority(increment: int = BACKGROUND_NICE_INCREMENT) -> int | None:
    """Raise the calling thread's nice value by ``increment`` (at most to 19).

    Call it first thing on the background thread, before it starts any thread pool. Returns
    the thread's new nice value, or None where per-thread priorities are unsupported.
    """
    if not sys.platform.startswith("linux"):
        return None
    tid = threading.get_native_id()
    try:
        nice = min(os.getpriority(os.PRIO_PROCESS, tid) + increment, MAX_NICE)
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:
        return None
    return nice
