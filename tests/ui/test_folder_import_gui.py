"""Training on a folder from the GUI: the import progress dialog and its Cancel, the import
report, the one error dialog when nothing is usable, and imported shapes as Explore endpoints."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication

from explorer.ui import training_worker
from explorer.ui.explore_sequence import DATASET
from trainer.checkpoint import save_checkpoint
from trainer.config import TrainConfig
from trainer.data import folder as folder_module
from trainer.data.folder import load_folder_with_report
from trainer.loop import Trainer

WAIT_MS = 30_000
TINY = {"resolution": 16, "latent_dim": 12, "batch_size": 4, "lr": "0.005", "epochs": 1,
        "seed": 1}
SHAPES = ("box/b1.stl", "box/b2.obj", "cone/c1.obj", "cone/c2.off", "sphere/s1.off",
          "sphere/s2.stl")
BROKEN = "cone/broken.stl"


@pytest.fixture(scope="module")
def shape_folder(tmp_path_factory) -> Path:
    """Six trimesh primitives in three classes saved as .stl .obj .off, a broken .stl and a
    text file."""
    root = tmp_path_factory.mktemp("shapes")
    makers = {"box": lambda k: trimesh.creation.box(extents=(1.0, 0.6 + 0.2 * k, 0.4)),
              "cone": lambda k: trimesh.creation.cone(radius=0.5, height=1.0 + 0.3 * k),
              "sphere": lambda k: trimesh.creation.icosphere(2, radius=0.5 + 0.1 * k)}
    for k, name in enumerate(SHAPES):
        (root / name).parent.mkdir(exist_ok=True)
        makers[name.split("/")[0]](k % 2).export(root / name)
    (root / BROKEN).write_bytes(np.random.default_rng(0).bytes(600))
    (root / "notes.txt").write_text("not a shape")
    return root


@pytest.fixture
def fill_tiny(window, fill):
    """Fill the form with a tiny 1-epoch run on `folder`."""

    def fill_form(folder: Path) -> None:
        window.training.form.set_config(TrainConfig(channels=(4, 8, 8, 8)))  # not on the form
        fill(window.training.form, folder=folder, **TINY)

    return fill_form


@pytest.fixture
def start_on(window, fill_tiny, qtbot):
    """Fill the form with a tiny 1-epoch run on `folder` and click Start."""

    def start(folder: Path) -> None:
        fill_tiny(folder)
        qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
        assert window.training.is_running()

    return start


def test_start_imports_the_folder_reports_it_trains_and_explores_it(
        window, start_on, dialogs, qtbot, shape_folder) -> None:
    view = window.training
    start_on(shape_folder)
    progress = view.import_progress
    assert progress.isVisible() and progress.windowModality() == Qt.WindowModality.WindowModal
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)
    assert dialogs.errors == []
    assert view.status.text() == "Finished."
    assert not progress.isVisible()
    assert progress.bar.maximum() == progress.bar.value() == len(SHAPES) + 1  # the broken one

    report = view.import_report
    assert report.isVisible()
    assert report.classes.rows() == [("box", "2"), ("cone", "2"), ("sphere", "2")]
    skipped = report.skipped.rows()
    assert [path for path, _ in skipped] == [BROKEN, "notes.txt"]
    assert skipped[0][1] and skipped[1][1] == "not a shape file (.txt)"
    assert "Imported <b>6</b> shapes in 3 classes" in report.summary.text()
    report.skipped.selectRow(0)
    qtbot.keyClick(report.skipped, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == f"{BROKEN}\t{skipped[0][1]}"
    qtbot.mouseClick(report.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert f"{BROKEN}: {skipped[0][1]}" in copied and "notes.txt: not a shape file" in copied

    session = window.snapshot.session
    assert session.shapes.class_names == ("box", "cone", "sphere")
    assert session.shape_names == SHAPES
    assert window.explore.session is session

    window.tabs.setCurrentWidget(window.explore)
    sequence = window.explore.sequence
    start, end = sequence.start, sequence.end
    start.source.setCurrentText(DATASET)
    start.class_name.setCurrentText("sphere")
    start.index.setValue(2)
    assert start.name.text() == "sphere/s2.stl" and start.index.suffix() == " of 2"
    end.source.setCurrentText(DATASET)
    end.class_name.setCurrentText("box")
    end.index.setValue(1)
    assert end.name.text() == "box/b1.stl"
    qtbot.waitUntil(lambda: start.preview.pixmap() is not None
                    and not start.preview.pixmap().isNull(), timeout=WAIT_MS)
    sequence.steps.setValue(3)
    qtbot.mouseClick(sequence.interpolate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.explore.frames) == 3, timeout=WAIT_MS)
    grids = session.shapes.grids.astype(np.float32)
    mu = session.encode(grids[[SHAPES.index("sphere/s2.stl"), SHAPES.index("box/b1.stl")]])
    np.testing.assert_allclose(window.explore.frames[0].code, mu[0], atol=1e-5)
    np.testing.assert_allclose(window.explore.frames[-1].code, mu[1], atol=1e-5)


def test_a_second_import_comes_from_the_cache_and_is_reported(window, start_on, qtbot,
                                                               shape_folder) -> None:
    _, first = load_folder_with_report(shape_folder, 16)  # fills the (per-test) cache
    assert first.cache_hits == 0
    view = window.training
    start_on(shape_folder)
    qtbot.waitUntil(lambda: view.import_report is not None, timeout=WAIT_MS)
    qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    report = view.import_report
    assert report.isVisible() and report.report.cache_hits == len(SHAPES)
    assert "(6 from the cache)" in report.summary.text()
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)


def test_cancel_stops_the_import_and_no_training_starts(
        window, start_on, dialogs, qtbot, shape_folder, monkeypatch) -> None:
    real = folder_module._file_grid

    def slow_file_grid(*args):
        time.sleep(0.3)
        return real(*args)

    built = []

    def trainer(*args, **kwargs):
        built.append(args)
        raise AssertionError("training started")

    monkeypatch.setattr(folder_module, "_file_grid", slow_file_grid)
    monkeypatch.setattr(training_worker, "Trainer", trainer)
    view = window.training
    start_on(shape_folder)
    progress = view.import_progress
    qtbot.waitUntil(lambda: progress.bar.value() >= 1, timeout=WAIT_MS)
    assert view.progress.format().startswith("Importing · file ")
    ticks = [time.monotonic()]  # the event loop's pulse while files are imported
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    qtbot.waitUntil(lambda: progress.bar.value() >= 3, timeout=WAIT_MS)  # 0.6 s later
    timer.stop()
    assert progress.file.text() in (*SHAPES, BROKEN)
    qtbot.mouseClick(progress.cancel_button, Qt.MouseButton.LeftButton)
    cancelled = time.monotonic()
    assert not progress.cancel_button.isEnabled()
    assert progress.file.text().startswith("Cancelling")
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)

    assert time.monotonic() - cancelled < 1.5
    assert built == [] and window.snapshot is None
    assert progress.bar.value() < progress.bar.maximum()
    assert not progress.isVisible()
    assert view.status.text() == "Import cancelled: nothing was trained."
    assert view.progress.format() == "Not running"
    assert view.import_report is None and dialogs.errors == []
    assert view.start_button.isEnabled()
    gaps = np.diff(ticks)
    assert ticks[-1] - ticks[0] > 0.25 and gaps.max() < 0.25, \
        f"the GUI stalled for {gaps.max():.2f} s"


def test_a_folder_with_nothing_usable_shows_one_error(window, start_on, dialogs, qtbot,
                                                      tmp_path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.stl").write_bytes(b"\x00" * 84)
    (tmp_path / "junk" / "b.off").write_text("OFF\nnot numbers\n")
    view = window.training
    start_on(tmp_path / "junk")
    qtbot.waitUntil(lambda: not view.is_running(), timeout=WAIT_MS)
    assert len(dialogs.errors) == 1
    assert dialogs.errors[0].startswith("None of the 2 shape files in")
    assert "the import report lists each file and why" in dialogs.errors[0]
    assert not view.import_progress.isVisible()
    assert view.import_report.isVisible()
    assert "No shape could be imported" in view.import_report.summary.text()
    assert [row[0] for row in view.import_report.skipped.rows()] == ["a.stl", "b.off"]
    assert view.status.text().startswith("Failed: None of the 2 shape files")
    assert view.progress.format() == "Not running"


def test_an_opened_folder_checkpoint_offers_its_shapes_by_file_name(
        window, dialogs, qtbot, shape_folder, tmp_path) -> None:
    config = TrainConfig(data=str(shape_folder), resolution=16, channels=(4, 8, 8, 8),
                         latent_dim=12, batch_size=4, epochs=1)
    shapes, _ = load_folder_with_report(shape_folder, 16)
    trainer = Trainer(config, *shapes.split(config.val_fraction, config.seed))
    trainer.run()
    dialogs.open_path = str(save_checkpoint(tmp_path / "run.pt", trainer.checkpoint()))
    window.open_action.trigger()
    # the model opens first, its data set (and with it the shapes' names) after
    qtbot.waitUntil(lambda: window.explore.session is not None
                    and window.explore.session.shapes is not None, timeout=WAIT_MS)
    assert window.explore.session.shape_names == SHAPES
    picker = window.explore.sequence.end
    picker.source.setCurrentText(DATASET)
    assert [picker.class_name.itemText(i) for i in range(3)] == ["box", "cone", "sphere"]
    picker.class_name.setCurrentText("cone")
    picker.index.setValue(2)
    assert picker.name.text() == "cone/c2.off" and picker.position() == 3
