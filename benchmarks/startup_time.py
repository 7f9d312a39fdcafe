"""Start-up time of the GUI: `python main.py` to the first painted window, and to a full gallery.

Each run starts a fresh interpreter that runs `main.main([])` exactly as `python main.py` does,
with a Qt event filter that notes the wall-clock time of the first paint of a top-level window
and of the moment the Explore view's gallery holds all its samples. Times count from just
before the process is started, so interpreter start-up is included. Settings go to a temporary
folder (a first launch: no saved geometry). Needs a display:

    xvfb-run -a python -m benchmarks.startup_time [--model CHECKPOINT] [--runs 3]

Without --model the bundled assets/default_model.pt is opened (as `python main.py` does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 3.0

_CHILD = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
seen = {}

def report(what):
    if what not in seen:
        seen[what] = time.time()
        print(f"{what} {seen[what]:.6f}", flush=True)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if (event.type() == QEvent.Type.Paint and obj.isWidgetType() and obj.isWindow()
                and "paint" not in seen):
            QTimer.singleShot(0, lambda: report("paint"))   # once the paint has been handled
        return False

def poll():
    for widget in app.topLevelWidgets():
        explore = getattr(widget, "explore", None)
        if explore is not None and len(explore.gallery_shapes) >= 12:
            report("gallery")
            os._exit(0)
    if time.time() - start > float(os.environ["STARTUP_TIMEOUT"]):
        os._exit(0)

start = time.time()
probe = FirstPaint()
app.installEventFilter(probe)
timer = QTimer(interval=50)
timer.timeout.connect(poll)
timer.start()
import main
main.main([])
"""


def one_run(env: dict[str, str], timeout_s: float) -> dict[str, float]:
    """Seconds from process start to 'paint' and to 'gallery' (missing when not reached)."""
    started = time.time()
    out = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, text=True,
                         capture_output=True, timeout=timeout_s + 30).stdout
    times = {}
    for line in out.splitlines():
        what, _, stamp = line.partition(" ")
        if what in ("paint", "gallery"):
            times[what] = float(stamp) - started
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="checkpoint to open (default: the bundled one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the "
                        "gallery per run")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("needs a display: run under xvfb-run -a", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as config_home:
        env = {**os.environ, "STARTUP_TIMEOUT": str(args.timeout),
               "XDG_CONFIG_HOME": config_home}
        if args.model is not None:
            env["SHAPE_EXPLORER_MODEL"] = str(args.model.resolve())
        runs = [one_run(env, args.timeout) for _ in range(args.runs)]
    paints = [r["paint"] for r in runs if "paint" in r]
    galleries = [r["gallery"] for r in runs if "gallery" in r]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, runs: {args.runs}")
    if paints:
        print(f"first window painted: median {statistics.median(paints):.2f} s, "
              f"max {max(paints):.2f} s (target {TARGET_S:.0f} s)")
    else:
        print("the window never painted")
    if galleries:
        print(f"gallery full (model loaded and decoded): median "
              f"{statistics.median(galleries):.2f} s, max {max(galleries):.2f} s")
    else:
        print("the gallery never filled (no start-up model?)")
    return 0 if paints else 1


if __name__ == "__main__":
    sys.exit(main())
