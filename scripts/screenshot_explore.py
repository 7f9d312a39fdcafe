"""Screenshots of the Explore view for the docs: gallery, sliders, interpolation filmstrip.

    python main.py train --resolution 32 --epochs 8 --dataset-size 1000 --checkpoint runs/vae32.pt
    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_explore.py runs/vae32.pt

Writes docs/screenshots/explore.png (an interpolation between a gallery sample and a validation
shape, mid-way) and docs/screenshots/explore_traversal.png (a traversal of the most active
dimension, with the voxel-grid box).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from screen_grab import save_on_screen

from explorer.session import ExplorerSession
from explorer.ui.explore_sequence import DATASET
from explorer.ui.explore_view import ExploreView
from trainer.data.sources import load_shapes

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZE = (1500, 950)


def settle(view: ExploreView, ms: int = 600) -> None:
    """Run the event loop until the worker is idle, then ``ms`` more for painting."""
    loop = QEventLoop()
    while not view.service.is_idle():
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a checkpoint trained on the built-in solids")
    parser.add_argument("--seed", type=int, default=1, help="seed of the prior samples")
    args = parser.parse_args()
    app = QApplication(sys.argv)
    session = ExplorerSession.from_checkpoint(args.checkpoint)
    config = session.config
    session.shapes = load_shapes(config).split(config.val_fraction, config.seed)[1]

    view = ExploreView()
    view.setWindowTitle("Shape Latent Explorer: Explore")
    view.resize(*SIZE)
    view.show()
    view.gallery.seed.setValue(args.seed)
    view.set_session(session)
    settle(view)

    sequence = view.sequence
    sequence.start.source.setCurrentText(DATASET)
    sequence.start.class_name.setCurrentText("torus")
    sequence.end.index.setValue(3)
    sequence.steps.setValue(9)
    sequence.interpolate_button.click()
    settle(view)
    sequence.scrub.setValue(4)
    settle(view)
    OUT.mkdir(parents=True, exist_ok=True)
    save_on_screen(view, OUT / "explore.png")

    active = int(np.nanargmax(session.unit_measures()))
    view.sliders._selection.button(active).click()
    view.box.setChecked(True)
    sequence.steps.setValue(7)
    sequence.traverse_button.click()
    settle(view)
    sequence.scrub.setValue(5)
    settle(view)
    save_on_screen(view, OUT / "explore_traversal.png")
    view.shutdown()
    app.processEvents()
    print(f"wrote {OUT / 'explore.png'} and {OUT / 'explore_traversal.png'}")


if __name__ == "__main__":
    main()
