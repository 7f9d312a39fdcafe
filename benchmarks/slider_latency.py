"""Slider-to-mesh latency of the Explore view: decode (batch 1) + marching cubes + hand-over.

Usage (the GUI part needs a display; the core part runs anywhere):

    xvfb-run -a python -m benchmarks.slider_latency [CHECKPOINT] [--resolution 32] [--moves 60]

Without a checkpoint a model of the default architecture is trained briefly at --resolution
first (a minute). Decode time does not depend on the weights, meshing time does: for a model
trained too little to give surfaces (any 64^3 model trained in minutes here), pass
``--grids-from`` a trained 32^3 checkpoint and its grids, upsampled, are meshed.

Every figure is measured twice, with eager decoding and with the compiled decoder
(explorer/fast_decode.py, after its background compile finished): the median and p95 of one
decode, of one marching cubes, of the two together (Qt-free), and of the full path in the GUI:
a latent slider moved -> the worker decodes and meshes -> the 3D view holds the new mesh (and
-> its GL window has drawn a frame with it and swapped it onto the screen). Each move starts
once the previous frame is on screen, as a real input event finds the GUI thread idle. Then a
60 Hz drag: how many of the moves were decoded (latest wins) and how long the last one took to
show.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np

from explorer import fast_decode
from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession, traverse
from trainer.checkpoint import Checkpoint, load_checkpoint
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.loop import Trainer
from trainer.perf import tune_allocator

TARGET_MS = {32: 4.0, 64: 20.0}
QUICK_RUN = {16: (320, 2), 32: (320, 2), 64: (160, 1)}
"""Procedural shapes and epochs of the model trained when no checkpoint is given (at 64^3 too
briefly to give surfaces: use --grids-from)."""
GALLERY_BATCH = 12
MODES = ("eager", "compiled")


def quick_checkpoint(resolution: int) -> Checkpoint:
    """A model of the default architecture, trained briefly on procedural solids."""
    shapes, epochs = QUICK_RUN[resolution]
    config = TrainConfig(resolution=resolution, epochs=epochs, dataset_size=shapes)
    train, val = make_procedural(shapes, resolution, config.seed).split(config.val_fraction,
                                                                         config.seed)
    trainer = Trainer(config, train, val)
    trainer.run()
    return trainer.checkpoint()


def session_for(ckpt: Checkpoint, mode: str) -> ExplorerSession:
    """A fresh session on the checkpoint; for "compiled" once its decoder is ready."""
    session = ExplorerSession.from_checkpoint(ckpt)
    if mode == "compiled":
        start = time.perf_counter()
        compiled = session.compile_decoder((1, GALLERY_BATCH))
        compiled.wait()
        if compiled.error:
            raise SystemExit(f"compiling failed: {compiled.error}")
        print(f"background compile (batch 1 and {GALLERY_BATCH}): "
              f"{time.perf_counter() - start:.1f} s")
    return session


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
    print(f"{label:<46} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms"
          f"   (n={len(ms)})")


def slider_codes(session: ExplorerSession, count: int) -> tuple[np.ndarray, int]:
    """Codes a user makes dragging the most active dimension of an encoded training-like shape
    (so that every code decodes to a real surface) within the slider's ±3, and that dimension."""
    variances = session.unit_measures()
    dim = int(np.nanargmax(variances)) if not np.isnan(variances).all() else 0
    grid = make_procedural(1, session.resolution, seed=1).float_grids()
    base = session.encode(grid)[0]
    values = np.clip(base[dim], -1.9, 1.9) + np.sin(np.linspace(0, 6 * np.pi, count))
    return traverse(base, dim, values), dim


def upsampled(source: ExplorerSession, codes: np.ndarray, resolution: int) -> list[np.ndarray]:
    """``source``'s grids of ``codes``, trilinearly upsampled to ``resolution``: the smooth
    surfaces a trained decoder gives, for meshing timings with an untrained model."""
    import torch

    grids = torch.from_numpy(source.decode(codes))[:, None]
    fine = torch.nn.functional.interpolate(grids, size=(resolution,) * 3, mode="trilinear")
    return list(fine[:, 0].numpy())


def core(session: ExplorerSession, mode: str, repeats: int,
         grids_from: ExplorerSession | None) -> None:
    codes, _ = slider_codes(grids_from or session, repeats + 2)
    if grids_from is None:
        grids = [session.decode(c) for c in codes]
    else:
        grids = upsampled(grids_from, codes, session.resolution)
        print(f"[{mode}] meshing grids decoded by the {grids_from.resolution}^3 model and "
              f"upsampled to {session.resolution}^3")
    faces = [len(m.faces) if (m := mesh_from_grid(g)) is not None else 0 for g in grids]
    print(f"[{mode}] meshes of the slider codes: median {int(np.median(faces))} faces, "
          f"{sum(f == 0 for f in faces)} without a surface")
    gallery = np.random.default_rng(0).standard_normal((GALLERY_BATCH, session.latent_dim))
    report(f"[{mode}] decode, batch 1", timed(lambda i: session.decode(codes[i]), repeats))
    report(f"[{mode}] decode, gallery batch {GALLERY_BATCH}",
           timed(lambda i: session.decode(gallery), max(repeats // 4, 5)))
    report(f"[{mode}] marching cubes", timed(lambda i: mesh_from_grid(grids[i]), repeats))
    report(f"[{mode}] decode + marching cubes (Qt-free)",
           timed(lambda i: (session.decode(codes[i]), mesh_from_grid(grids[i])), repeats))


def gui(sessions: Iterator[tuple[str, ExplorerSession]], moves: int) -> None:
    import shiboken6
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from explorer.ui import explore_tasks, explore_view
    from explorer.ui.app import prepare_qt
    from explorer.ui.explore_sliders import STEPS_PER_UNIT
    from explorer.ui.explore_view import ExploreView

    # The worker's share of the latency, and its parts: when each slider task started and
    # ended, how long it decoded and meshed (perf_counter seconds, the newest last; the
    # gallery's decoding and meshing are not recorded).
    task: dict[str, list[float]] = {"start": [], "end": [], "decode": [], "mesh": []}
    in_slider_task = threading.Event()
    decode_shape, mesh_from_grid_in_task = explore_view.decode_shape, explore_tasks.mesh_from_grid

    def clocked(fn, key):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if in_slider_task.is_set():
                    task[key].append(time.perf_counter() - start)
        return run

    def timed_task(*args):
        task["start"].append(time.perf_counter())
        in_slider_task.set()
        try:
            return decode_shape(*args)
        finally:
            in_slider_task.clear()
            task["end"].append(time.perf_counter())

    explore_view.decode_shape = timed_task
    explore_tasks.mesh_from_grid = clocked(mesh_from_grid_in_task, "mesh")

    prepare_qt()  # as the app does
    app = QApplication(sys.argv)
    view = ExploreView()
    view.resize(1400, 900)
    view.show()
    loop = QEventLoop()
    view.shapeShown.connect(loop.quit)
    gl_window = view.mesh_view.gl_view
    for mode, session in sessions:
        os.environ[fast_decode.ENV_SWITCH] = "1" if mode == "compiled" else "0"
        session.decode = clocked(session.decode, "decode")
        view.set_session(session)   # the compiled session's decoder is ready already
        loop.exec()
        codes, dim = slider_codes(session, moves + 2)
        view.state.set_code(codes[0])
        slider = view.sliders.sliders[dim]
        positions = np.round(codes[:, dim] * STEPS_PER_UNIT).astype(int)

        mesh_ms: list[float] = []
        frame_ms: list[float] = []
        parts: list[tuple[float, ...]] = []

        def move(i: int, slider=slider, positions=positions, mesh_ms=mesh_ms,
                 frame_ms=frame_ms, parts=parts) -> None:
            # As after a real input event, the GUI thread is idle: the previous frame is on
            # screen (waited for below) before the slider moves.
            value = int(positions[i])
            start = time.perf_counter()
            slider.setValue(value if value != slider.value() else value + 1)
            loop.exec()                               # until the 3D view holds the new mesh
            shown = time.perf_counter()
            mesh_ms.append(1000 * (shown - start))
            parts.append(tuple(1000 * np.array([
                task["start"][-1] - start, task["decode"][-1], task["mesh"][-1],
                task["end"][-1] - task["start"][-1], shown - task["end"][-1]])))
            gl_window.frameSwapped.connect(loop.quit)
            loop.exec()                               # until a frame with it is on screen
            gl_window.frameSwapped.disconnect(loop.quit)
            frame_ms.append(1000 * (time.perf_counter() - start))

        timed(move, moves)
        report(f"[{mode}] slider -> mesh in the 3D view (GUI)", np.asarray(mesh_ms[-moves:]))
        report(f"[{mode}] slider -> frame with the mesh drawn", np.asarray(frame_ms[-moves:]))
        worker = np.asarray(parts[-moves:]).T
        report(f"[{mode}]   of which the worker's decode + mesh", worker[3])
        for label, ms in zip(("waking the worker", "decode", "marching cubes",
                              "handing the mesh to the view"), worker[[0, 1, 2, 4]],
                             strict=True):
            report(f"[{mode}]     {label}", ms)
        drag(view, slider, positions[::-1].tolist(), loop, mode)
    view.shutdown()
    shiboken6.delete(view)     # before the application object goes
    app.processEvents()


def drag(view, slider, positions: list[int], loop, mode: str) -> None:
    """Move the slider through ``positions`` at 60 Hz; print how many meshes were shown."""
    from PySide6.QtCore import QTimer

    shown: list[float] = []
    view.shapeShown.disconnect(loop.quit)
    view.shapeShown.connect(lambda: shown.append(time.perf_counter()))
    remaining = iter(positions)
    timer = QTimer(interval=16)
    last_move = [0.0]

    def step() -> None:
        value = next(remaining, None)
        if value is None:
            timer.stop()
            QTimer.singleShot(500, loop.quit)
            return
        last_move[0] = time.perf_counter()
        slider.setValue(value)

    timer.timeout.connect(step)
    timer.start()
    loop.exec()
    view.shapeShown.disconnect()
    view.shapeShown.connect(loop.quit)
    print(f"[{mode}] 60 Hz drag: {len(positions)} slider moves -> {len(shown)} meshes shown; "
          f"last shown {1000 * (shown[-1] - last_move[0]):.1f} ms after the last move")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", help="a checkpoint (default: train one)")
    parser.add_argument("--resolution", type=int, default=32, choices=sorted(QUICK_RUN),
                        help="resolution of the model trained when no checkpoint is given")
    parser.add_argument("--moves", type=int, default=60, help="slider moves to time")
    parser.add_argument("--grids-from", metavar="CHECKPOINT",
                        help="mesh the grids of this trained lower-resolution model, upsampled, "
                             "instead of the model's own (for an untrained model; skips the GUI)")
    args = parser.parse_args()
    tune_allocator()
    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint)
    else:
        print(f"training a small {args.resolution}^3 model for the benchmark ...", flush=True)
        ckpt = quick_checkpoint(args.resolution)
    import torch

    config = ckpt.config
    target = TARGET_MS.get(config.resolution)
    print(f"resolution {config.resolution}^3, latent {config.latent_dim}, channels "
          f"{config.channels}, trained {ckpt.epoch} epoch(s), torch threads "
          f"{torch.get_num_threads()}, {os.cpu_count()} CPUs"
          + (f"; target median <= {target:.0f} ms" if target else ""))
    os.environ[fast_decode.ENV_SWITCH] = "1"
    grids_from = ExplorerSession.from_checkpoint(args.grids_from) if args.grids_from else None
    sessions = {mode: session_for(ckpt, mode) for mode in MODES}
    for mode, session in sessions.items():
        core(session, mode, args.moves, grids_from)
    if grids_from is not None:
        print("GUI latency skipped: the model's own grids are not what is meshed above")
    elif os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        gui(iter(sessions.items()), args.moves)
    else:
        print("no display: GUI latency skipped (run under xvfb-run -a)")


if __name__ == "__main__":
    main()
