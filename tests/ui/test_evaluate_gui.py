"""Model > Evaluate model and the Training view's validation table, with real widgets and real
background threads on a tiny 16^3 model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog

from explorer.cli import main
from explorer.ui.class_scores import VALUE_ROLE, ScoresTable
from trainer.checkpoint import load_checkpoint
from trainer.data.folder import load_folder
from trainer.data.procedural import make_procedural
from trainer.data.sources import load_shapes
from trainer.evaluation import Evaluation, evaluate

WAIT_MS = 30_000
SAMPLES = 12


def table_values(table: ScoresTable) -> list[tuple[object, ...]]:
    return [tuple(table.item(r, c).data(VALUE_ROLE) for c in range(table.columnCount()))
            for r in range(table.rowCount())]


def expected_values(report: Evaluation) -> list[tuple[object, ...]]:
    return [(c.name, c.shapes, c.iou, c.hamming) for c in report.classes]


def validation_report(path: Path, samples: int = 0) -> Evaluation:
    ckpt = load_checkpoint(path)
    _, val = load_shapes(ckpt.config).split(ckpt.config.val_fraction, ckpt.config.seed)
    return evaluate(ckpt, val, samples=samples, seed=0)


@pytest.fixture
def opened(window, qtbot, tiny_model):
    """The window with the tiny model opened and its data set loaded."""
    window.open_path(tiny_model)
    qtbot.waitUntil(lambda: window.snapshot is not None
                    and window.snapshot.session.shapes is not None, timeout=WAIT_MS)
    return window


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def evaluate_dialog(window, qtbot, samples: int = SAMPLES):
    assert window.evaluate_action.isEnabled()
    window.evaluate_action.trigger()
    dialog = window.evaluate_dialog
    qtbot.waitExposed(dialog)
    dialog.samples.selectAll()
    qtbot.keyClicks(dialog.samples, str(samples))
    return dialog


def test_evaluate_shows_the_reports_figures_and_saves_the_commands_json_and_text(
        opened, qtbot, dialogs, tiny_model, tmp_path, capsys) -> None:
    dialog = evaluate_dialog(opened, qtbot)
    click(qtbot, dialog.evaluate_button)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT_MS)

    expected = validation_report(tiny_model, SAMPLES)
    assert table_values(dialog.table) == expected_values(expected)
    assert dialog.table.rows()[0][2] == f"{expected.classes[0].iou:.3f}"
    g = expected.generation
    assert f"IoU {expected.iou:.3f}" in dialog.overall.text()
    assert f"MMD {g.mmd:.3f}" in dialog.generation.text()
    assert f"1-NNA {g.nna:.3f}" in dialog.generation.text()

    dialogs.save_path = str(tmp_path / "gui" / "report.json")
    click(qtbot, dialog.save_json_button)
    qtbot.waitUntil(lambda: "Saved" in dialog.status.text(), timeout=WAIT_MS)
    dialogs.save_path = str(tmp_path / "gui" / "report.txt")
    click(qtbot, dialog.save_text_button)
    qtbot.waitUntil(lambda: dialog.status.text().endswith("report.txt"), timeout=WAIT_MS)

    capsys.readouterr()
    cli_json = tmp_path / "cli.json"
    assert main(["evaluate", str(tiny_model), "--data", "builtin", "--samples", str(SAMPLES),
                 "--json", str(cli_json)]) == 0
    assert (tmp_path / "gui" / "report.json").read_text() == cli_json.read_text()
    assert (tmp_path / "gui" / "report.txt").read_text() == capsys.readouterr().out
    assert dialogs.errors == []

    click(qtbot, dialog.button_box.button(QDialogButtonBox.StandardButton.Close))
    assert not dialog.isVisible()
    opened.evaluate_action.trigger()                    # the same model: its report is kept
    assert opened.evaluate_dialog is dialog and dialog.isVisible()
    assert table_values(dialog.table) == expected_values(expected)


def test_refined_codes_are_typed_in_and_reported_as_the_library_scores_them(
        opened, qtbot, dialogs, tiny_model) -> None:
    dialog = evaluate_dialog(opened, qtbot, samples=0)
    assert dialog.refine.isEnabled() and dialog.refine.text() == "off: the encoder's codes"
    dialog.refine.selectAll()
    qtbot.keyClicks(dialog.refine, "6")
    click(qtbot, dialog.evaluate_button)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT_MS)

    ckpt = load_checkpoint(tiny_model)
    _, val = load_shapes(ckpt.config).split(ckpt.config.val_fraction, ckpt.config.seed)
    expected = evaluate(ckpt, val, samples=0, refine=6)
    assert dialog.report.refine_steps == 6
    assert table_values(dialog.table) == expected_values(expected)
    assert "codes refined by 6 steps" in dialog.overall.text()
    assert expected.iou != validation_report(tiny_model).iou
    assert dialogs.errors == []


def test_folders_bad_and_good_and_cancel_keep_the_settings_and_the_last_report(
        opened, qtbot, dialogs, tmp_path, monkeypatch) -> None:
    dialog = evaluate_dialog(opened, qtbot, samples=0)
    click(qtbot, dialog.evaluate_button)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT_MS)
    shown, rows = dialog.report, dialog.table.rows()
    assert "none scored" in dialog.generation.text()

    dialog.data.setCurrentIndex(1)                      # a folder of shapes
    click(qtbot, dialog.evaluate_button)                # none typed yet
    assert dialogs.errors == ["Choose a folder of shapes to score the model on."]
    qtbot.keyClicks(dialog.folder, str(tmp_path / "missing"))
    click(qtbot, dialog.evaluate_button)
    qtbot.waitUntil(lambda: len(dialogs.errors) == 2, timeout=WAIT_MS)
    assert "missing" in dialogs.errors[1]
    assert dialog.report is shown and dialog.table.rows() == rows
    assert dialog.folder.text() == str(tmp_path / "missing") and dialog.evaluate_button.isEnabled()

    folder = tmp_path / "shapes"
    grids = make_procedural(4, 16, 7).grids
    for i, grid in enumerate(grids):
        (folder / f"kind{i % 2}").mkdir(parents=True, exist_ok=True)
        np.save(folder / f"kind{i % 2}" / f"{i}.npy", grid[0])
    (folder / "kind0" / "broken.npy").write_bytes(b"not a grid")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a: str(folder))
    click(qtbot, dialog.browse_button)
    assert dialog.folder.text() == str(folder)
    click(qtbot, dialog.evaluate_button)
    qtbot.waitUntil(lambda: dialog.report is not shown, timeout=WAIT_MS)
    assert dialog.status.text() == (f"Scored on {folder}: 4 shapes imported at 16³, 1 file "
                                    "skipped (the tooltip says why).")
    assert "broken.npy" in dialog.status.toolTip()
    ckpt = opened.snapshot.checkpoint
    expected = evaluate(ckpt, load_folder(folder, 16), samples=0)
    assert table_values(dialog.table) == expected_values(expected)
    assert [row[0] for row in dialog.table.rows()] == ["kind0", "kind1"]
    shown, rows = dialog.report, dialog.table.rows()

    dialog.data.setCurrentIndex(0)
    dialog.samples.setValue(1024)
    click(qtbot, dialog.evaluate_button)
    assert not dialog.evaluate_button.isEnabled() and not dialog.samples.isEnabled()
    click(qtbot, dialog.cancel_button)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT_MS)
    assert dialog.status.text() == "Cancelled; the last report is still shown."
    assert dialog.report is shown and dialog.table.rows() == rows and len(dialogs.errors) == 2
    assert dialog.samples.value() == 1024 and dialog.save_json_button.isEnabled()


def test_the_training_view_scores_the_validation_set_when_a_run_ends_and_on_demand(
        window, fill, qtbot, opened, tiny_model) -> None:
    panel = window.training.class_scores
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0, timeout=WAIT_MS)   # the opened run's
    assert table_values(panel.table) == expected_values(validation_report(tiny_model))

    view = window.training
    fill(view.form, epochs=1, dataset_size=24, seed=4)
    click(qtbot, view.start_button)
    assert panel.table.rowCount() == 0 and not panel.score_action.isEnabled()
    qtbot.waitUntil(lambda: not view.is_running() and panel.job is None
                    and panel.table.rowCount() > 0, timeout=WAIT_MS)
    snapshot = window.snapshot
    shapes, config = snapshot.session.shapes, snapshot.checkpoint.config
    assert len(shapes) == 24
    expected = evaluate(snapshot.checkpoint, shapes.split(config.val_fraction, config.seed)[1],
                        samples=0)
    assert table_values(panel.table) == expected_values(expected)
    assert panel.note.text() == (f"Epoch 1: IoU {expected.iou:.3f}, Hamming "
                                 f"{expected.hamming:.4f} over {expected.shapes} shapes.")

    panel.table.set_scores(())
    click(qtbot, panel.button)                          # on demand
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0, timeout=WAIT_MS)
    assert table_values(panel.table) == expected_values(expected)
