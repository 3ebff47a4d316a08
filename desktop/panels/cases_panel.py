"""The Cases panel: search, reopen, annotate and delete saved cases, and the "Save case…" dialog.

All storage goes through `core.cases.store.CaseStore`. Reopening emits the full `core.cases.store.Case`, from which
the main
window restores the study, the results and the overlay settings exactly as they were saved.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.analysis.overlay import OverlaySettings
from core.analysis.results import StudyResult
from core.cases.schema import CaseRecord
from core.cases.store import Case, CaseStore
from core.errors import CaseStoreError
from core.io.load import SeriesInfo
from desktop import theme

# The result beside the name: in a narrow dock the columns further right are behind a horizontal scroll.
COLUMNS = ("Case name", "Result", "Patient ID", "Study date", "Saved on")
RESULT_COLUMN = COLUMNS.index("Result")
SEARCH_HINT = "Search name, patient ID, date (YYYY-MM-DD) or result"
SEARCH_DELAY_MS = 200  # re-query once typing pauses, not on every key
NO_PREDICTION = "No prediction"
ANONYMISED = "anonymised"
CASE_ID_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class CaseDetails:
    """What the user typed in the "Save case…" dialog."""

    name: str
    notes: str
    copy_slice_images: bool
    anonymised: bool


def suggested_case_name(info: SeriesInfo | None) -> str:
    """A starting name from the study and series descriptions; never the patient's identity (an anonymised case
    refuses names that carry it)."""
    if info is None:
        return ""
    return " ".join(part for part in (info.study_description, info.series_description) if part).strip()


def saved_time_text(created_at: str) -> str:
    """"2026-11-23T09:36:45+01:00" → "2026-11-23 09:36" (local time as saved)."""
    try:
        return datetime.fromisoformat(created_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created_at


def study_date_text(dicom_date: str) -> str:
    """"20240131" → "2024-01-31"; anything else unchanged."""
    return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}" if re.fullmatch(r"\d{8}", dicom_date) else dicom_date


class SaveCaseDialog(QDialog):
    """Name and notes for a new case, plus what to keep; OK only once there is a name."""

    def __init__(self, suggested_name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save case")
        self.setMinimumWidth(440)
        self.name = QLineEdit(suggested_name)
        self.name.setPlaceholderText("e.g. Follow-up left frontal lesion")
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Your notes for this case (optional)")
        self.notes.setTabChangesFocus(True)
        self.copy_slice_images = QCheckBox("Keep copies of the analysed slices")
        self.copy_slice_images.setToolTip("PNG copies of the analysed slices go with the case (and with 'cases "
                                          "export'); reopening it in the window still needs the original study")
        self.copy_slice_images.setChecked(True)
        self.anonymised = QCheckBox("Anonymise (no patient name, ID, birth date or file paths)")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        form = QFormLayout(self)
        form.addRow("Case name", self.name)
        form.addRow("Notes", self.notes)
        form.addRow("", self.copy_slice_images)
        form.addRow("", self.anonymised)
        form.addRow(QLabel("The date and time of saving are added to the case automatically."))
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name.textChanged.connect(self._enable_save)
        self._enable_save()

    def details(self) -> CaseDetails:
        return CaseDetails(self.name.text().strip(), self.notes.toPlainText(), self.copy_slice_images.isChecked(),
                           self.anonymised.isChecked())

    def _enable_save(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(bool(self.name.text().strip()))


class NotesDialog(QDialog):
    def __init__(self, case_name: str, notes: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Notes — {case_name}")
        self.setMinimumSize(420, 260)
        self.notes = QPlainTextEdit(notes)
        self.notes.setTabChangesFocus(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notes)
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)


# The three questions the panel asks, as functions so tests can answer them without a modal event loop.

def ask_case_details(parent: QWidget, suggested_name: str) -> CaseDetails | None:
    dialog = SaveCaseDialog(suggested_name, parent)
    return dialog.details() if dialog.exec() == QDialog.DialogCode.Accepted else None


def ask_notes(parent: QWidget, case_name: str, notes: str) -> str | None:
    dialog = NotesDialog(case_name, notes, parent)
    return dialog.notes.toPlainText() if dialog.exec() == QDialog.DialogCode.Accepted else None


def confirm_delete(parent: QWidget, record: CaseRecord) -> bool:
    answer = QMessageBox.question(
        parent, "Delete case",
        f"Delete the case “{record.name}” saved {saved_time_text(record.created_at)}?\n\n"
        "Its results, notes, slice copies and attached reports are removed. The original study files are not "
        "touched. This cannot be undone.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


class CasesPanel(QWidget):
    """Saved cases, newest first, filtered by the search box."""

    caseReopened = Signal(object)  # core.cases.store.Case
    caseSaved = Signal(object)  # core.cases.schema.CaseRecord

    def __init__(self, store: CaseStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.records: list[CaseRecord] = []
        self._display_names: dict[str, str] = {}
        self.search = QLineEdit()
        self.search.setPlaceholderText(SEARCH_HINT)
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.count_label = QLabel()
        self.count_label.setObjectName("sectionTitle")
        self.notes_preview = QLabel()
        self.notes_preview.setWordWrap(True)
        self.notes_preview.setTextFormat(Qt.TextFormat.RichText)
        self.notes_preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reopen_button = QPushButton("Reopen")
        self.reopen_button.setToolTip("Show the case's study, results and overlay exactly as saved (double-click)")
        self.notes_button = QPushButton("Edit notes…")
        self.delete_button = QPushButton("Delete…")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._build_layout()
        self.search.textChanged.connect(self._search_timer.start)
        self._search_timer.timeout.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.cellDoubleClicked.connect(lambda _row, _column: self.reopen_selected())
        self.reopen_button.clicked.connect(self.reopen_selected)
        self.notes_button.clicked.connect(self.edit_selected_notes)
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.reopen_button)
        buttons.addWidget(self.notes_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.count_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes_preview)
        layout.addLayout(buttons)

    def set_class_names(self, classes: Sequence[str], display_names: Sequence[str]) -> None:
        """Results are shown by the manifest's display names ("notumor" → "No tumour")."""
        self._display_names = dict(zip(classes, display_names))
        self.refresh()

    # ----- list ----------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-run the search, keeping the selected case selected when it is still listed."""
        selected = self.selected_case_id()
        query = self.search.text().strip()
        try:
            self.records = self.store.list(query)
        except CaseStoreError as error:
            self.records = []
            self._report("The case list could not be read", error)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            for column, text in enumerate(self._row_texts(record)):
                item = QTableWidgetItem(text)
                item.setData(CASE_ID_ROLE, record.case_id)
                self.table.setItem(row, column, item)
            # Results in their class colour, as in the results panel, so a list is scanned at a glance.
            self.table.item(row, RESULT_COLUMN).setForeground(theme.class_colour(record.verdict_label))
        self._show_count(query)
        self.select_case(selected)
        self._on_selection_changed()

    def _row_texts(self, record: CaseRecord) -> tuple[str, ...]:
        result = (NO_PREDICTION if record.verdict_label is None
                  else self._display_names.get(record.verdict_label, record.verdict_label))
        return (record.name, result, ANONYMISED if record.anonymised else record.patient_id,
                study_date_text(record.study_date), saved_time_text(record.created_at))

    def _show_count(self, query: str) -> None:
        count = len(self.records)
        if query:
            self.count_label.setText(f"{count} case{'s' * (count != 1)} match “{query}”" if count
                                     else f"No case matches “{query}”")
        else:
            self.count_label.setText(f"{count} saved case{'s' * (count != 1)}" if count
                                     else "No saved cases yet — after an analysis use File → Save case…")

    def selected_case_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return None if not rows else self.records[rows[0].row()].case_id

    def selected_record(self) -> CaseRecord | None:
        case_id = self.selected_case_id()
        return next((record for record in self.records if record.case_id == case_id), None)

    def select_case(self, case_id: int | None) -> None:
        row = next((row for row, record in enumerate(self.records) if record.case_id == case_id), None)
        if row is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)

    def _on_selection_changed(self) -> None:
        record = self.selected_record()
        for button in (self.reopen_button, self.notes_button, self.delete_button):
            button.setEnabled(record is not None)
        self.notes_preview.setText(self._notes_text(record))

    def _notes_text(self, record: CaseRecord | None) -> str:
        if record is None:
            return ""
        try:
            notes = self.store.notes(record.case_id)
        except CaseStoreError as error:
            return f"Notes unavailable: {error.reason}"
        return f"<b>Notes — {html.escape(record.name)}:</b> " + (html.escape(notes) if notes.strip() else "<i>none</i>")

    # ----- actions -------------------------------------------------------------------------------------------------

    def save_case(self, study_result: StudyResult, study_source: Path | None,
                  overlay_settings: OverlaySettings) -> CaseRecord | None:
        """Ask for a name and notes, then save the analysis as a new case; None when cancelled or refused."""
        details = ask_case_details(self, suggested_case_name(study_result.series_info))
        if details is None:
            return None
        try:
            record = self.store.save(details.name, study_result, study_source, overlay_settings, notes=details.notes,
                                     copy_slice_images=details.copy_slice_images, anonymised=details.anonymised)
        except CaseStoreError as error:
            self._report("The case was not saved", error)
            return None
        self.search.clear()  # the new case must be visible
        self.refresh()
        self.select_case(record.case_id)
        self.caseSaved.emit(record)
        return record

    def reopen_selected(self) -> Case | None:
        case_id = self.selected_case_id()
        if case_id is None:
            return None
        try:
            case = self.store.get(case_id)
        except CaseStoreError as error:
            self._report("The case could not be reopened", error)
            return None
        self.caseReopened.emit(case)
        return case

    def edit_selected_notes(self) -> None:
        record = self.selected_record()
        if record is None:
            return
        try:
            notes = ask_notes(self, record.name, self.store.notes(record.case_id))
            if notes is not None:
                self.store.update_notes(record.case_id, notes)
        except CaseStoreError as error:
            self._report("The notes were not saved", error)
        self._on_selection_changed()

    def delete_selected(self) -> None:
        record = self.selected_record()
        if record is None or not confirm_delete(self, record):
            return
        try:
            self.store.delete(record.case_id)
        except CaseStoreError as error:
            self._report("The case was not deleted", error)
        self.refresh()

    def _report(self, title: str, error: CaseStoreError) -> None:
        QMessageBox.warning(self, title, error.reason)
