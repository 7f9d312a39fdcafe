"""Dialogs of a folder import: progress with Cancel while it runs, then the import report.

The import itself runs on the training thread (``TrainingWorker``); these widgets only show
what its signals carry.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trainer.data.folder import ImportReport, SkippedFile

NAME_WIDTH = 420  # the current file's name is elided in the middle to this many pixels
CLASS_ROWS = 8  # the class table scrolls beyond this many classes
SKIPPED_ROWS = 10  # the skipped-file table shows at least this many rows (when there are any)


class ImportProgressDialog(QDialog):
    """Files done / total, the file being read, and Cancel.

    Cancel, Escape and closing the window all emit ``cancelRequested`` once; the dialog stays
    up ("Cancelling...") until its owner calls ``finish`` when the import has stopped.
    """

    cancelRequested = Signal()

    def __init__(self, folder: str, resolution: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Importing shapes")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.title = QLabel(f"Voxelising the shape files in <b>{html.escape(folder)}</b> at "
                            f"{resolution}³ ...", wordWrap=True)
        self.bar = QProgressBar(minimum=0, maximum=0, textVisible=True)
        self.bar.setFormat("%v / %m files")
        self.file = QLabel("Looking for shape files ...")
        self.file.setMinimumWidth(NAME_WIDTH)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the import before the next file; nothing is trained")
        buttons = QDialogButtonBox()
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.bar, self.file, buttons):
            layout.addWidget(widget)
        self.cancel_button.clicked.connect(self.reject)

    def set_progress(self, done: int, total: int, name: str) -> None:
        self.bar.setMaximum(total)
        self.bar.setValue(done)
        if self.cancel_button.isEnabled():
            text = name or "Done."
            self.file.setText(self.file.fontMetrics().elidedText(
                text, Qt.TextElideMode.ElideMiddle, NAME_WIDTH))
            self.file.setToolTip(name)

    def reject(self) -> None:
        """Ask for the import to stop (the dialog closes once it has)."""
        if self.cancel_button.isEnabled():
            self.cancel_button.setEnabled(False)
            self.file.setText("Cancelling after the current file ...")
            self.cancelRequested.emit()

    def finish(self) -> None:
        """Close the dialog: the import ended."""
        self.done(QDialog.DialogCode.Accepted)


class ReportTable(QTableWidget):
    """A read-only table whose selected cells Ctrl+C copies as tab-separated lines.

    Column ``stretch`` takes the spare width; the others fit their contents.
    """

    def __init__(self, headers: list[str], rows: list[tuple[str, ...]], stretch: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(len(rows), len(headers), parent)
        self.setHorizontalHeaderLabels(headers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if text.isdigit():
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column in range(len(headers)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch
                                        if column == stretch
                                        else QHeaderView.ResizeMode.ResizeToContents)

    def fitted_height(self, max_rows: int) -> int:
        """The height that shows up to ``max_rows`` rows without scrolling."""
        rows = min(self.rowCount(), max_rows)
        return (rows * self.verticalHeader().defaultSectionSize()
                + self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth() + 4)

    def rows(self) -> list[tuple[str, ...]]:
        return [tuple(self.item(r, c).text() for c in range(self.columnCount()))
                for r in range(self.rowCount())]

    def selected_text(self) -> str:
        rows = sorted({index.row() for index in self.selectedIndexes()})
        return "\n".join("\t".join(self.rows()[r]) for r in rows)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            QGuiApplication.clipboard().setText(self.selected_text())
        else:
            super().keyPressEvent(event)


class ImportReportDialog(QDialog):
    """What an import did: a summary, shapes per class, and every skipped file with its reason
    (files that failed first, then files that are not shapes). "Copy report" puts all of it on
    the clipboard as text."""

    def __init__(self, report: ImportReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import report: {report.folder.name}")
        self.report = report
        skipped = list(report.failed) + list(report.ignored)
        self.summary = QLabel(_headline(report), wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.classes = ReportTable(["Class", "Shapes"], [
            (name, str(count)) for name, count in report.class_counts.items()], stretch=0)
        self.skipped = ReportTable(["File", "Reason"], [(f.path, f.reason) for f in skipped],
                                   stretch=1)
        self.skipped_title = QLabel(_skipped_headline(report))
        self.copy_button = QPushButton("Copy report")
        self.copy_button.setToolTip("Copy the summary and every skipped file to the clipboard")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.classes)
        layout.addWidget(self.skipped_title)
        layout.addWidget(self.skipped, 1)
        layout.addWidget(buttons)
        self.skipped.setVisible(bool(skipped))
        self.classes.setFixedHeight(self.classes.fitted_height(CLASS_ROWS))
        self.skipped.setMinimumHeight(self.skipped.fitted_height(SKIPPED_ROWS))
        self.resize(720, self.sizeHint().height())
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(report_text(self.report))


def report_text(report: ImportReport) -> str:
    """The whole report as plain text: the summary and every skipped file with its reason."""
    text = report.summary(max_listed=len(report.failed))
    if report.ignored:
        text += "\n" + "\n".join(_line(f) for f in report.ignored)
    return text


def _headline(report: ImportReport) -> str:
    if not report.imported:
        return (f"<b>No shape could be imported</b> from {html.escape(str(report.folder))}: "
                "each file and why is listed below.")
    classes = len(report.class_counts)
    text = (f"Imported <b>{report.imported}</b> shape{'s' * (report.imported != 1)} in "
            f"{classes} class{'es' * (classes != 1)} from {html.escape(str(report.folder))} at "
            f"{report.resolution}³ in {report.seconds:.1f} s "
            f"({report.cache_hits} from the cache).")
    if report.cache_error:
        text += f"<br><span style='color:#b45309'>Warning: {html.escape(report.cache_error)}</span>"
    return text


def _skipped_headline(report: ImportReport) -> str:
    failed, ignored = len(report.failed), len(report.ignored)
    if not failed and not ignored:
        return "Every file was imported."
    other = "1 is not a shape file" if ignored == 1 else f"{ignored} are not shape files"
    return (f"Skipped {failed + ignored} file{'s' * (failed + ignored != 1)}: {failed} could not "
            f"be imported, {other}.")


def _line(skipped: SkippedFile) -> str:
    return f"  {skipped.path}: {skipped.reason}"

