"""GUI event-loop stalls while training runs and a latent slider is dragged, in the real window.

A model is opened in the main window (its decoder compiles in the background; the measurement
waits for that), a training run is started from the Training view, then the Explore tab is shown
and one latent slider is dragged at 60 Hz while a 5 ms timer probes the event loop: every gap
between two probe ticks beyond 5 ms is time the GUI thread could not react. Needs a display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m benchmarks.event_loop_stall [CHECKPOINT]

Without a checkpoint a small 32^3 model is trained for a minute first. Prints p50 / p99 / max
of the probe gaps, the meshes shown during the drag and the training rate meanwhile.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROBE_MS = 5
DRAG_MS = 16
TARGET_P99_MS = 30.0


def quick_checkpoint(folder: Path) -> Path:
    """A 32^3 default-architecture model trained briefly on a few procedural solids."""
    from benchmarks.slider_latency import quick_checkpoint as train_quickly
    from trainer.checkpoint import save_checkpoint

    path = folder / "quick.pt"
    save_checkpoint(path, train_quickly(32))
    return path


def measure(checkpoint: Path, seconds: float, dataset_size: int) -> None:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui.app import prepare_qt
    from explorer.ui.explore_sliders import SLIDER_RANGE, STEPS_PER_UNIT
    from explorer.ui.main_window import MainWindow
    from trainer.perf import tune_allocator

    tune_allocator()
    prepare_qt()  # as the app does
    app = QApplication(sys.argv)
    window = MainWindow()
    window.show()
    loop = QEventLoop()

    def wait_until(done, what: str, timeout_s: float = 600) -> None:
        start = time.perf_counter()
        poll = QTimer(interval=50)
        poll.timeout.connect(lambda: done() and loop.quit())
        poll.start()
        while not done():
            if time.perf_counter() - start > timeout_s:
                raise SystemExit(f"timed out waiting for {what}")
            loop.exec()
        poll.stop()

    window.open_path(checkpoint)
    wait_until(lambda: window.explore.session is not None, "the checkpoint to load")
    session = window.explore.session
    compiled = session.compiled
    wait_until(lambda: compiled is None or compiled.wait(0), "the decoder to compile")
    state = ("off" if compiled is None else
             "failed, eager" if compiled.error else "compiled, batch 1 ready")
    print(f"model {session.resolution}^3 channels {session.config.channels}; decoder: {state}")

    form = window.training.form
    form.resolution.setCurrentText(str(session.resolution))
    form.fields["dataset_size"].setText(str(dataset_size))
    form.fields["epochs"].setText("1000")
    window.training.start_button.click()
    wait_until(lambda: window.training.progress.value() > 0, "training to start")
    window.tabs.setCurrentWidget(window.explore)

    variances = session.unit_measures()
    dim = int(np.nanargmax(variances)) if not np.isnan(variances).all() else 0
    slider = window.explore.sliders.sliders[dim]
    span = int(SLIDER_RANGE * STEPS_PER_UNIT * 0.8)
    shown = [0]
    window.explore.shapeShown.connect(lambda: shown.__setitem__(0, shown[0] + 1))

    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def probe() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    step = [0]

    def drag() -> None:
        step[0] += 1
        slider.setValue(round(span * np.sin(step[0] * DRAG_MS / 1000 * 2 * np.pi / 3)))

    rates: list[float] = []
    window.training.snapshot_taken.connect(
        lambda snap: rates.append(snap.checkpoint.history[-1].samples_per_s))
    probe_timer = QTimer(interval=PROBE_MS, timerType=Qt.TimerType.PreciseTimer)
    probe_timer.timeout.connect(probe)
    drag_timer = QTimer(interval=DRAG_MS, timerType=Qt.TimerType.PreciseTimer)
    drag_timer.timeout.connect(drag)
    probe_timer.start()
    drag_timer.start()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    probe_timer.stop()
    drag_timer.stop()

    ms = np.asarray(gaps[1:])
    print(f"{seconds:.0f} s of training + a {1000 // DRAG_MS} Hz slider drag ({step[0]} moves, "
          f"{shown[0]} meshes shown); {PROBE_MS} ms probe, {len(ms)} ticks:")
    print(f"  probe gap  p50 {np.median(ms):6.1f} ms   p99 {np.percentile(ms, 99):6.1f} ms   "
          f"max {ms.max():6.1f} ms   (target p99 <= {TARGET_P99_MS:.0f} ms)")
    print("  training epochs that ended meanwhile: "
          + (", ".join(f"{r:.1f}" for r in rates) + " shapes/s" if rates else "none"))
    window.training.stop()
    window.training.wait(60_000)
    window.snapshot = None  # nothing to save: no question on closing
    window.close()
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", help="a checkpoint (default: train one)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the drag")
    parser.add_argument("--dataset-size", type=int, default=600,
                        help="procedural shapes of the training run started meanwhile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(args.checkpoint) if args.checkpoint else quick_checkpoint(Path(tmp))
        measure(checkpoint, args.seconds, args.dataset_size)


if __name__ == "__main__":
    main()
