"""The Complete view, clicked like a person: scan a data set shape from the camera, complete
it with AML (scores as trainer.completion.metrics computes them), ML live with Stop, explore
from the completion, export it, and train a completion encoder when there is none."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from explorer.ui.complete_view import CompleteView
from trainer.checkpoint import load_checkpoint
from trainer.completion.amortised import (
    CompletionConfig,
    CompletionTrainer,
    amortised_codes,
    completion_path,
)
from trainer.completion.baselines import naive_codes
from trainer.completion.encoder_file import load_encoder, save_completion
from trainer.completion.metrics import hamming, iou
from trainer.data.sources import load_shapes

WAIT_MS = 30_000


@pytest.fixture(autouse=True)
def warnings_recorded(monkeypatch, dialogs) -> None:
    """The view's warning dialogs are recorded as errors (a modal dialog would block)."""
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _p, _t, text, *_a: dialogs.errors.append(text))


@pytest.fixture(scope="module")
def model_with_encoder(tiny_model: Path, tmp_path_factory) -> Path:
    """The tiny start-up model copied into its own folder with a one-epoch completion encoder
    beside it."""
    path = tmp_path_factory.mktemp("complete") / "model.pt"
    shutil.copy(tiny_model, path)
    ckpt = load_checkpoint(path)
    train, val = load_shapes(ckpt.config).split(ckpt.config.val_fraction, ckpt.config.seed)
    trainer = CompletionTrainer(ckpt.build_model(), CompletionConfig(epochs=1, batch_size=4),
                                train, val)
    trainer.run()
    save_completion(completion_path(path), trainer.state())
    return path


def opened(window, qtbot, path: Path) -> CompleteView:
    """Open ``path``, wait for its data set, show the Complete view (View > Complete view)
    and wait for the first scan of the first data set shape."""
    with qtbot.waitSignal(window.dataLoaded, timeout=WAIT_MS):
        window.open_path(path)
    view = window.complete
    assert window.complete_tab_action.shortcut().toString() == "Ctrl+3"
    window.complete_tab_action.trigger()
    assert window.tabs.currentWidget() is view
    qtbot.waitUntil(lambda: view.state.observation is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.encoder_label.text().startswith(("Completion encoder", "No")),
                    timeout=WAIT_MS)
    return view


def test_scan_aml_explore_and_export(window, qtbot, dialogs, model_with_encoder,
                                     tmp_path) -> None:
    view = opened(window, qtbot, model_with_encoder)
    session = window.snapshot.session
    assert view.state.truth is not None and view.state.truth.sum() > 0
    first = session.class_members(0)[0]     # the first shape of the first class
    assert np.array_equal(view.state.truth, session.shapes.grids[first, 0] > 0.5)
    assert view.encoder_label.text() == "Completion encoder: model.completion.pt"

    # the scan follows the camera: look from another side and scan again
    view.scene.gl_view.setCameraPosition(azimuth=200.0, elevation=10.0)
    with qtbot.waitSignal(view.scanned, timeout=WAIT_MS):
        qtbot.mouseClick(view.scan_button, Qt.MouseButton.LeftButton)
    observation = view.state.observation
    assert observation.viewpoint == (200.0, 10.0) and observation.kind == "single-view"
    occupied, free = int(observation.occupied.sum()), int(observation.free.sum())
    assert occupied > 0 and free > 0
    assert view.scene.dot_counts() == (occupied, free)
    assert view.scene.truth_item.visible()

    # "Follow the camera" scans again whenever the camera moves
    qtbot.mouseClick(view.follow, Qt.MouseButton.LeftButton)
    assert view.follow.isChecked()
    qtbot.waitUntil(lambda: view.state.observation is not observation, timeout=WAIT_MS)
    with qtbot.waitSignal(view.scanned, timeout=WAIT_MS):
        view.scene.gl_view.setCameraPosition(azimuth=300.0, elevation=40.0)
    qtbot.mouseClick(view.follow, Qt.MouseButton.LeftButton)
    observation = view.state.observation
    assert observation.viewpoint == (300.0, 40.0)

    view.method.setCurrentIndex(view.method.findData("aml"))
    with qtbot.waitSignal(view.completed, timeout=WAIT_MS):
        qtbot.mouseClick(view.complete_button, Qt.MouseButton.LeftButton)
    encoder = load_encoder(completion_path(model_with_encoder), session.model)
    code = amortised_codes(encoder, [observation])[0]
    inside = (session.decode(code) > 0.5)[None]
    truth = view.state.truth[None]
    assert f"IoU {iou(inside, truth)[0]:.3f}" in view.result.text()
    assert f"Hamming {hamming(inside, truth)[0]:.4f}" in view.result.text()
    assert np.allclose(view.state.completion.code, code)
    assert view.scene.mesh_item.visible()

    out = tmp_path / "done.obj"
    dialogs.save_path = str(out)
    view.format.setCurrentText("obj")
    with qtbot.waitSignal(view.exported, timeout=WAIT_MS):
        qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    assert out.stat().st_size > 0 and (tmp_path / "done_observation.obj").stat().st_size > 0

    with qtbot.waitSignal(window.explore.shapeShown, timeout=WAIT_MS):
        qtbot.mouseClick(view.explore_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.explore
    state = window.explore.state
    assert np.allclose(state.code, code) and state.origin.kind == "completion"
    assert np.allclose(window.explore.current_shape.code, code)
    assert dialogs.errors == []


def test_ml_shows_its_steps_live_and_stops(window, qtbot, dialogs, model_with_encoder) -> None:
    view = opened(window, qtbot, model_with_encoder)
    # the baseline: the VAE's own encoder on the occupied voxels
    view.method.setCurrentIndex(view.method.findData("naive"))
    with qtbot.waitSignal(view.completed, timeout=WAIT_MS):
        qtbot.mouseClick(view.complete_button, Qt.MouseButton.LeftButton)
    session, observation = window.snapshot.session, view.state.observation
    code = naive_codes(session.model, [observation])[0]
    inside = (session.decode(code) > 0.5)[None]
    assert view.state.completion.method == "naive"
    assert f"IoU {iou(inside, view.state.truth[None])[0]:.3f}" in view.result.text()

    view.method.setCurrentIndex(view.method.findData("mean"))
    with qtbot.waitSignal(view.completed, timeout=WAIT_MS):
        qtbot.mouseClick(view.complete_button, Qt.MouseButton.LeftButton)
    assert view.state.completion.method == "mean" and "IoU" in view.result.text()
    assert not view.explore_button.isEnabled()    # the mean shape has no code

    view.method.setCurrentIndex(view.method.findData("ml"))
    view.steps.setValue(5000)
    with qtbot.waitSignal(view.searchStepped, timeout=WAIT_MS):
        qtbot.mouseClick(view.complete_button, Qt.MouseButton.LeftButton)
    assert view.stop_button.isEnabled() and not view.complete_button.isEnabled()
    qtbot.waitUntil(lambda: len(view.loss_curve.getData()[0]) >= 3, timeout=WAIT_MS)
    assert view.scene.mesh_item.visible() or "no surface" in view.scene.status.text()
    with qtbot.waitSignal(view.completed, timeout=WAIT_MS):
        qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.complete_button.isEnabled(), timeout=WAIT_MS)
    steps = len(view.loss_curve.getData()[0])
    assert 3 <= steps < 5000
    assert view.state.completion.method == "ml" and "IoU" in view.result.text()
    assert dialogs.errors == []


def test_without_an_encoder_it_says_so_and_trains_one(window, qtbot, dialogs, tiny_model,
                                                      tmp_path) -> None:
    path = tmp_path / "bare.pt"
    shutil.copy(tiny_model, path)
    view = opened(window, qtbot, path)
    assert view.encoder_label.text().startswith("No completion encoder beside bare.pt")

    # AML without an encoder: the question offers training or ML; "No" completes with ML
    view.steps.setValue(3)
    dialogs.answer = QMessageBox.StandardButton.No
    with qtbot.waitSignal(view.completed, timeout=WAIT_MS):
        qtbot.mouseClick(view.complete_button, Qt.MouseButton.LeftButton)
    assert "Train a completion encoder" in dialogs.questions[-1]
    assert view.state.completion.method == "ml" and view.method.currentData() == "ml"

    panel = view.encoder_panel
    panel.epochs.setValue(2)
    shown = []
    panel.progress.valueChanged.connect(lambda _: shown.append(panel.progress.format()))
    with qtbot.waitSignal(view.encoderChanged, timeout=WAIT_MS):
        qtbot.mouseClick(panel.train, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.train.isEnabled(), timeout=WAIT_MS)
    assert panel.epochs_plotted() == 2 and view.encoder is not None
    # the scans of prior samples are drawn first, then the epochs' batches
    assert shown[0] == "starting" and shown[1].startswith("scanning prior samples")
    assert shown[-1].startswith("epoch ")
    assert completion_path(path).is_file()
    assert "Trained 2 epoch(s)" in panel.status.text()

    view.method.setCurrentIndex(view.method.findData("aml"))
    with qtbot.waitSignal(view.completed, timeout=WAIT_MS):
        qtbot.mouseClick(view.complete_button, Qt.MouseButton.LeftButton)
    assert view.state.completion.method == "aml" and len(dialogs.questions) == 1

    # training again would replace the file: asked first, and "No" leaves it alone
    written = completion_path(path).stat().st_mtime_ns
    qtbot.mouseClick(panel.train, Qt.MouseButton.LeftButton)
    assert "Replace the completion encoder" in dialogs.questions[-1]
    assert not view.is_training() and panel.train.isEnabled()
    assert completion_path(path).stat().st_mtime_ns == written
    assert dialogs.errors == []
