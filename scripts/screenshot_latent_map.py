"""Screenshot of the Explore view's latent map for the docs: the bundled model's validation
shapes by class, the prior samples, a path through three picked shapes, a hover thumbnail and
the nearest neighbours.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_latent_map.py

Writes docs/screenshots/latent_map.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from screen_grab import save_on_screen

from explorer.bundled import MODEL_FILE
from explorer.session import ExplorerSession
from explorer.ui.explore_view import ExploreView
from trainer.data.sources import load_shapes

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZE = (1560, 960)


def settle(view: ExploreView, ms: int = 600) -> None:
    """Run the event loop until the workers are idle, then ``ms`` more for painting."""
    loop = QEventLoop()
    while not view.service.is_idle() or view.latent_map.latent_map is None:
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> None:
    app = QApplication(sys.argv)
    session = ExplorerSession.from_checkpoint(MODEL_FILE)
    session.shapes = load_shapes(session.config)
    view = ExploreView()
    view.setWindowTitle("Shape Latent Explorer: Explore, latent map")
    view.resize(*SIZE)
    view.show()
    view.gallery.seed.setValue(3)
    view.set_session(session)
    view.side_tabs.setCurrentWidget(view.latent_map)
    width = view.splitter.width()
    view.splitter.setSizes([300, width - 300 - 640, 640])
    settle(view)

    panel = view.latent_map
    data = panel.latent_map.data
    points = panel.latent_map.points
    classes = [data.class_names.index(name) if name in data.class_names else k
               for k, name in enumerate(("torus", "box", "cone"))]
    picks = []
    for label in classes:    # the point of each class nearest its class centre
        members = np.flatnonzero(data.labels == label)
        centre = points[members].mean(axis=0)
        picks.append(int(members[np.argmin(np.linalg.norm(points[members] - centre, axis=1))]))
    for i, index in enumerate(picks):
        panel.plot.pointClicked.emit(index, i > 0)
    view.sequence.steps.setValue(6)
    panel.path_button.click()
    settle(view)
    view.sequence.scrub.setValue(7)
    settle(view)
    others = np.flatnonzero(data.labels == (classes[0] + 3) % len(data.class_names))
    spot = panel.plot.widget_position(points[int(others[0])])
    QApplication.sendEvent(panel.plot.viewport(), QMouseEvent(
        QEvent.Type.MouseMove, QPointF(spot), QPointF(panel.plot.viewport().mapToGlobal(spot)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    settle(view)
    OUT.mkdir(parents=True, exist_ok=True)
    save_on_screen(view, OUT / "latent_map.png")
    view.shutdown()
    app.processEvents()


if __name__ == "__main__":
    main()
