"""Slider-to-mesh latency of the Explore view: decode (batch 1) + marching cubes + hand-over.

Usage (the GUI part needs a display; the core part runs anywhere):

    xvfb-run -a python benchmarks/slider_latency.py [CHECKPOINT] [--moves 60]

Without a checkpoint a small 32^3 model is trained for a minute first. Prints the median and
p95 of: one decode, one marching cubes, the two together (Qt-free), and the full path in the
GUI: a latent slider moved -> the worker decodes and meshes -> the 3D view holds the new mesh.
Then a 60 Hz drag: how many of the moves were decoded (latest wins) and how long the last one
took to show.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession, traverse
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.loop import Trainer
from trainer.perf import tune_allocator

TARGET_MS = 20.0


def quick_session(epochs: int = 2, shapes: int = 320) -> ExplorerSession:
    """A 32^3 model with the default architecture, trained briefly on procedural solids."""
    config = TrainConfig(resolution=32, epochs=epochs, dataset_size=shapes)
    train, val = make_procedural(shapes, 32, config.seed).split(config.val_fraction, config.seed)
    trainer = Trainer(config, train, val)
    trainer.run()
    return ExplorerSession.from_checkpoint(trainer.checkpoint(), shapes=val)


def timed(fn, repeats: int) -> np.ndarray:
    """Milliseconds of ``repeats`` calls of ``fn(i)`` after two warm-up calls."""
    fn(0)
    fn(1)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return 1000 * np.asarray(times)


def report(label: str, ms: np.ndarray) -> None:
    print(f"{label:<44} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms"
          f"   (n={len(ms)})")


def slider_codes(session: ExplorerSession, count: int) -> tuple[np.ndarray, int]:
    """Codes a user makes dragging the most active dimension of an encoded training-like shape
    (so that every code decodes to a real surface) within the slider's ±3, and that dimension."""
    variances = session.dimension_variances()
    dim = int(np.nanargmax(variances)) if not np.isnan(variances).all() else 0
    grid = make_procedural(1, session.resolution, seed=1).float_grids()
    base = session.encode(grid)[0]
    values = np.clip(base[dim], -1.9, 1.9) + np.sin(np.linspace(0, 6 * np.pi, count))
    return traverse(base, dim, values), dim


def core(session: ExplorerSession, repeats: int) -> None:
    codes, _ = slider_codes(session, repeats + 2)
    grids = [session.decode(c) for c in codes]
    faces = [len(m.faces) if (m := mesh_from_grid(g)) is not None else 0 for g in grids]
    print(f"meshes of the slider codes: median {int(np.median(faces))} faces, "
          f"{sum(f == 0 for f in faces)} without a surface")
    report("decode, batch 1", timed(lambda i: session.decode(codes[i]), repeats))
    report("marching cubes", timed(lambda i: mesh_from_grid(grids[i]), repeats))
    report("decode + marching cubes (Qt-free)",
           timed(lambda i: mesh_from_grid(session.decode(codes[i])), repeats))


def gui(session: ExplorerSession, moves: int) -> None:
    import shiboken6
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui import explore_view
    from explorer.ui.explore_sliders import STEPS_PER_UNIT
    from explorer.ui.explore_view import ExploreView

    task_ms: list[float] = []
    decode_shape = explore_view.decode_shape

    def timed_task(*args):
        start = time.perf_counter()
        try:
            return decode_shape(*args)
        finally:
            task_ms.append(1000 * (time.perf_counter() - start))

    explore_view.decode_shape = timed_task      # measure the worker's share of the latency

    app = QApplication(sys.argv)
    view = ExploreView()
    view.resize(1400, 900)
    view.show()
    view.set_session(session)
    loop = QEventLoop()
    view.shapeShown.connect(loop.quit)
    loop.exec()
    codes, dim = slider_codes(session, moves + 2)
    view.sliders.set_code(codes[0])
    slider = view.sliders.sliders[dim]
    positions = np.round(codes[:, dim] * STEPS_PER_UNIT).astype(int)

    def move(i: int) -> None:
        value = int(positions[i])
        slider.setValue(value if value != slider.value() else value + 1)
        loop.exec()                               # until the 3D view holds the new mesh

    report("slider -> mesh in the 3D view (GUI, worker)", timed(move, moves))
    report("  of which the worker's decode + mesh", np.asarray(task_ms[-moves:]))

    decodes = []
    view.shapeShown.disconnect(loop.quit)
    view.shapeShown.connect(lambda: decodes.append(time.perf_counter()))
    drag_positions = iter(positions[::-1].tolist())
    timer = QTimer(interval=16)
    last_move = [0.0]

    def drag() -> None:
        value = next(drag_positions, None)
        if value is None:
            timer.stop()
            QTimer.singleShot(500, loop.quit)
            return
        last_move[0] = time.perf_counter()
        slider.setValue(value)

    timer.timeout.connect(drag)
    timer.start()
    loop.exec()
    print(f"60 Hz drag: {len(positions)} slider moves -> {len(decodes)} meshes shown; last shown "
          f"{1000 * (decodes[-1] - last_move[0]):.1f} ms after the last move")
    view.shutdown()
    shiboken6.delete(view)     # before the application object goes
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", help="a 32^3 checkpoint (default: train one)")
    parser.add_argument("--moves", type=int, default=60, help="slider moves to time")
    args = parser.parse_args()
    tune_allocator()
    if args.checkpoint:
        session = ExplorerSession.from_checkpoint(args.checkpoint)
    else:
        print("training a small 32^3 model for the benchmark ...", flush=True)
        session = quick_session()
    import torch

    print(f"resolution {session.resolution}^3, latent {session.latent_dim}, channels "
          f"{session.config.channels}, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs; target < {TARGET_MS:.0f} ms")
    core(session, args.moves)
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        gui(session, args.moves)
    else:
        print("no display: GUI latency skipped (run under xvfb-run -a)")


if __name__ == "__main__":
    main()
