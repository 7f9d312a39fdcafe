"""The run form says why fields are greyed out, and names the latent type as such."""

from __future__ import annotations

from explorer.ui.config_form import ConfigForm
from trainer.config import TrainConfig


def test_greyed_fields_say_what_they_need(qtbot) -> None:
    form = ConfigForm()
    qtbot.addWidget(form)
    note = form.greyed_note
    assert not form.folder.isEnabled() and not form.family.fields["temperature"].isEnabled()
    assert "the folder (only with a folder of shapes as Data)" in note.text()
    assert "Classes C, Temperature τ₀" in note.text() and "(only with Latent categorical)" in \
        note.text()
    form.family.combos["latent"].setCurrentText("categorical")
    assert "Classes C" not in note.text()
    form.source.setCurrentIndex(1)                  # a folder: the built-in size is greyed
    assert "Shapes (only with the built-in solids)" in note.text()
    form.set_editable(False)
    assert note.text() == "The settings stay as they are while the run trains."
    form.set_editable(True)
    form.set_config(TrainConfig(grid="sdf", likelihood="gaussian"))   # as an opened checkpoint
    assert "Likelihood (signed distances are Gaussian)" in note.text()
    assert "SDF truncation" not in note.text()


def test_the_family_summary_names_the_latent_type_apart_from_the_likelihood(qtbot) -> None:
    form = ConfigForm()
    qtbot.addWidget(form)
    assert form.likelihood.currentText() == "bernoulli"
    assert form.family_summary.text().startswith("gaussian latents · occupancy grids")
