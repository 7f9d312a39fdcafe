"""Screenshot of the Training view mid-run, for the docs.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_training.py

Starts a real run on the built-in solids at 32^3 from the form (like a user would), grabs the
window after `--shot-after` epochs to docs/screenshots/training.png, then stops and quits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication
from screen_grab import save_on_screen

from explorer.ui.main_window import MainWindow
from trainer.perf import tune_allocator

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "training.png"
FORM = {"dataset_size": "600", "epochs": "40", "batch_size": "16", "latent_dim": "16"}


class Shooter(QObject):
    """Lives on the GUI thread: grabs the window once enough epochs are plotted."""

    def __init__(self, window: MainWindow, epochs: int) -> None:
        super().__init__()
        self.window, self.epochs = window, epochs
        self.timer = QTimer(self, interval=200)
        self.timer.timeout.connect(self.poll)

    @Slot()
    def poll(self) -> None:
        x, _ = self.window.training.plots.curves["val_loss"].getOriginalDataset()
        if x is None or len(x) < self.epochs:
            return
        self.timer.stop()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        save_on_screen(self.window, OUT)
        print(f"wrote {OUT}")
        self.window.training.stop()
        self.window.training.wait(10_000)
        self.window.snapshot = None  # nothing to save: no question on quitting
        QApplication.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shot-after", type=int, default=6, help="epochs before the shot")
    args = parser.parse_args()
    tune_allocator()
    app = QApplication(sys.argv)
    window = MainWindow()
    window.show()
    form = window.training.form
    form.resolution.setCurrentText("32")
    for name, text in FORM.items():
        form.fields[name].setText(text)
    window.training.start()
    shooter = Shooter(window, args.shot_after)
    shooter.timer.start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
