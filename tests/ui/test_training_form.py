"""The run settings form: defaults, tooltips, and invalid values refused before any thread."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt

from trainer.config import TrainConfig


def test_form_shows_the_defaults_with_tooltips(window) -> None:
    form = window.training.form
    assert form.config() == TrainConfig()
    assert window.training.start_button.isEnabled()
    help_of = {f.name: f.metadata["help"] for f in dataclasses.fields(TrainConfig)}
    assert help_of["lr"] in form.fields["lr"].toolTip()
    assert help_of["resolution"] in form.resolution.toolTip()
    assert not form.folder.isEnabled()


def test_typed_values_make_the_config(window, fill) -> None:
    form = window.training.form
    fill(form, resolution=16, latent_dim=8, beta=0.5, samples=2, epochs=3, batch_size=8,
         lr="1e-3", seed=7, dataset_size=40, likelihood="gaussian")
    assert form.config() == TrainConfig(resolution=16, latent_dim=8, beta=0.5, samples=2,
                                        epochs=3, batch_size=8, lr=1e-3, seed=7,
                                        dataset_size=40, likelihood="gaussian")


def test_invalid_values_are_refused_inline_and_start_nothing(window, fill, qtbot) -> None:
    view = window.training
    fill(view.form, batch_size=1)
    assert "batch_size must be 2..4096, got 1" in view.form_error.text()
    assert not view.start_button.isEnabled()
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    view.start()  # even when called directly
    assert not view.is_running() and view._run is None

    fill(view.form, batch_size=8, lr="fast")
    assert view.form_error.text() == "Learning rate must be a number, got 'fast'"
    assert not view.start_button.isEnabled()

    fill(view.form, lr="0.002", folder="")
    assert "choose a folder" in view.form_error.text()
    fill(view.form, folder="/some/folder")
    assert view.form_error.text() == ""
    assert view.start_button.isEnabled()
    assert view.form.config().data == "/some/folder"
