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


def test_model_family_settings_make_the_config(window, qtbot) -> None:
    form = window.training.form
    assert form.family.isHidden()
    assert "gaussian latents · occupancy grids · no input noise" in form.family_summary.text()
    qtbot.mouseClick(form.family_toggle, Qt.MouseButton.LeftButton)
    family = form.family
    assert family.isVisible()
    assert not family.fields["categorical_classes"].isEnabled()
    family.combos["latent"].setCurrentText("categorical")
    assert family.fields["categorical_classes"].isEnabled()
    assert family.straight_through.isEnabled()
    family.fields["categorical_classes"].clear()
    qtbot.keyClicks(family.fields["categorical_classes"], "5")
    qtbot.mouseClick(family.straight_through, Qt.MouseButton.LeftButton)
    family.combos["beta_schedule"].setCurrentText("linear")
    assert family.fields["warmup_epochs"].isEnabled()
    assert not family.fields["beta_cycles"].isEnabled()
    config = form.config()
    assert config.latent == "categorical" and config.categorical_classes == 5
    assert config.straight_through and config.beta_schedule == "linear"
    assert "categorical" in form.family_summary.text()


def test_signed_distance_grids_lock_the_likelihood_and_refuse_flip_noise(window) -> None:
    form = window.training.form
    family = form.family
    family.combos["noise"].setCurrentText("flip")
    family.combos["grid"].setCurrentText("sdf")
    assert form.likelihood.currentText() == "gaussian" and not form.likelihood.isEnabled()
    assert family.combos["noise"].currentText() == "gaussian"
    flip = family.combos["noise"].model().item(family.combos["noise"].findText("flip"))
    assert not flip.isEnabled()
    assert family.fields["sdf_truncation"].isEnabled()
    config = form.config()
    assert (config.grid, config.likelihood, config.noise) == ("sdf", "gaussian", "gaussian")
    assert window.training.start_button.isEnabled()

    family.combos["grid"].setCurrentText("occupancy")
    assert form.likelihood.isEnabled() and flip.isEnabled()
    family.fields["noise_level"].setText("2")
    assert "noise_level must be strictly between 0 and 1" in window.training.form_error.text()


def test_categorical_latents_are_not_offered_pose_dimensions(window) -> None:
    form = window.training.form
    family = form.family
    pose = family.combos["pose"]
    assert pose.currentText() == "auto" and form.config().uses_pose   # the default: Q = 16
    pose.setCurrentText("moments")
    family.combos["latent"].setCurrentText("categorical")
    moments = pose.model().item(pose.findText("moments"))
    assert not moments.isEnabled() and pose.currentText() == "auto"
    config = form.config()
    assert config.latent == "categorical" and not config.uses_pose
    assert window.training.start_button.isEnabled()
    family.combos["latent"].setCurrentText("gaussian")
    assert moments.isEnabled()
    pose.setCurrentText("none")
    assert not form.config().uses_pose
