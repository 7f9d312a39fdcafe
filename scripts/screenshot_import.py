"""Screenshots of a folder import for the docs: progress dialog, import report, Explore picker.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_import.py \
        [--epochs 60] [--per-class 10] [--out docs/screenshots]

Builds a small ModelNet-style folder (tables, chairs, lamps, bottles made of trimesh primitives,
in .off .obj .stl .ply, plus a few broken and non-shape files) in a temporary folder, imports and
trains on it from the Training view, and writes import_progress.png, import_report.png and
explore_dataset.png (an interpolation between two imported shapes picked by class and index).
Each file's import is slowed by 50 ms so that the progress dialog can be caught mid-way. With
the defaults the model still decodes almost nothing (40 shapes, 60 epochs are too few to leave
the all-empty plateau of thin shapes); for a useful Explore picture give it hundreds of shapes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from screen_grab import save_on_screen

from explorer.ui.explore_sequence import DATASET
from explorer.ui.main_window import MainWindow
from trainer.config import TrainConfig
from trainer.data import folder as folder_module

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZE = (1500, 950)
SUFFIXES = ("off", "obj", "stl", "ply")


def box(extents, centre) -> trimesh.Trimesh:
    part = trimesh.creation.box(extents=extents)
    part.apply_translation(centre)
    return part


def cylinder(radius: float, height: float, z: float) -> trimesh.Trimesh:
    part = trimesh.creation.cylinder(radius=radius, height=height, sections=32)
    part.apply_translation((0, 0, z + height / 2))
    return part


def legs(width: float, depth: float, height: float, thick: float) -> list[trimesh.Trimesh]:
    return [box((thick, thick, height), (sx * (width - thick) / 2, sy * (depth - thick) / 2,
                                         height / 2))
            for sx in (-1, 1) for sy in (-1, 1)]


def table(rng: np.random.Generator) -> trimesh.Trimesh:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.6, 1.0), rng.uniform(0.6, 0.9)
    return trimesh.util.concatenate([*legs(w, d, h, 0.14), box((w, d, 0.12), (0, 0, h))])


def chair(rng: np.random.Generator) -> trimesh.Trimesh:
    w, h, back = rng.uniform(0.45, 0.6), rng.uniform(0.4, 0.5), rng.uniform(0.4, 0.7)
    return trimesh.util.concatenate([
        *legs(w, w, h, 0.1), box((w, w, 0.1), (0, 0, h)),
        box((w, 0.1, back), (0, (w - 0.1) / 2, h + back / 2))])


def lamp(rng: np.random.Generator) -> trimesh.Trimesh:
    pole, shade = rng.uniform(0.8, 1.3), rng.uniform(0.25, 0.4)
    cone = trimesh.creation.cone(radius=shade, height=shade * 1.2, sections=32)
    cone.apply_translation((0, 0, pole))
    return trimesh.util.concatenate([cylinder(0.25, 0.08, 0), cylinder(0.07, pole, 0.08), cone])


def bottle(rng: np.random.Generator) -> trimesh.Trimesh:
    radius, body = rng.uniform(0.18, 0.3), rng.uniform(0.6, 0.9)
    shoulder = trimesh.creation.cone(radius=radius, height=radius, sections=32)
    shoulder.apply_translation((0, 0, body))
    neck = cylinder(radius * 0.35, 0.3, body + radius * 0.6)
    return trimesh.util.concatenate([cylinder(radius, body, 0), shoulder, neck])


def make_folder(root: Path, per_class: int) -> Path:
    """ModelNet layout: class/train/class_0001.ext, and a few files that cannot be used."""
    rng = np.random.default_rng(3)
    for maker in (table, chair, lamp, bottle):
        name = maker.__name__
        (root / name / "train").mkdir(parents=True)
        for k in range(1, per_class + 1):
            maker(rng).export(root / name / "train" / f"{name}_{k:04d}.{SUFFIXES[k % 4]}")
    broken = per_class + 1
    (root / "chair" / "train" / f"chair_{broken:04d}.off").write_text("OFF\n8 6 0\n0 0 0\n1 0 0\n")
    (root / "lamp" / "train" / f"lamp_{broken:04d}.stl").write_bytes(b"")
    (root / "bottle" / "train" / f"bottle_{broken:04d}.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (root / "table" / "train" / f"table_{broken:04d}.3ds").write_bytes(b"\x4d\x4d")
    (root / "README.txt").write_text("Shapes made for the screenshots.\n")
    return root


def settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition, timeout_s: float = 3600.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("gave up waiting")
        settle(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--per-class", type=int, default=10, help="shapes of each class")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shape-import-"))
    os.environ["SHAPE_EXPLORER_CACHE"] = str(work / "cache")
    os.environ.setdefault("SHAPE_EXPLORER_COMPILE", "0")  # eager decoding is enough here
    folder = make_folder(work / "furniture", args.per_class)
    real = folder_module._file_grid
    folder_module._file_grid = lambda *a: (time.sleep(0.05), real(*a))[1]
    app = QApplication(sys.argv)
    window = MainWindow()
    window.resize(*SIZE)
    window.move(0, 0)
    window.show()
    settle(500)
    view = window.training
    view.form.set_config(TrainConfig(data=str(folder), resolution=32, latent_dim=8,
                                     channels=(8, 16, 32, 64), batch_size=8,
                                     epochs=args.epochs, lr=3e-3, seed=2))
    args.out.mkdir(parents=True, exist_ok=True)
    view.start()
    progress = view.import_progress
    wait_until(lambda: progress.bar.value() >= 0.45 * max(progress.bar.maximum(), 1)
               and progress.bar.maximum() > 0)
    settle(100)
    save_on_screen(window, args.out / "import_progress.png", with_frame=True)
    wait_until(lambda: view.import_report is not None)
    settle(300)
    view.import_report.grab().save(str(args.out / "import_report.png"))
    wait_until(lambda: not view.is_running())
    view.import_report.close()

    explore = window.explore
    window.tabs.setCurrentWidget(explore)
    settle(1000)
    sequence = explore.sequence
    for picker, name, index in ((sequence.start, "chair", 2), (sequence.end, "table", 3)):
        picker.source.setCurrentText(DATASET)
        picker.class_name.setCurrentText(name)
        picker.index.setValue(index)
    sequence.steps.setValue(9)
    sequence.interpolate_button.click()
    wait_until(lambda: len(explore.frames) == 9 and explore.service.is_idle())
    sequence.scrub.setValue(4)
    wait_until(explore.service.is_idle)
    settle(800)
    save_on_screen(window, args.out / "explore_dataset.png")
    explore.shutdown()
    app.processEvents()
    print(f"wrote import_progress.png, import_report.png, explore_dataset.png to {args.out}")


if __name__ == "__main__":
    main()
