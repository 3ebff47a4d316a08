"""File → Preferences: settings the user chooses once for every study: the institution name that heads each PDF
report (the CLI's --institution; until it is set reports say "Institution not set"), the reports' page size (the
CLI's --page-size) and how many central slices Analyse uses (the CLI's --slices, with the same default)."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.analysis.selection import DEFAULT_SLICE_COUNT
from core.output.report import PAGE_SIZE_NAMES
from desktop.settings import MAX_SLICE_COUNT, Preferences

#: Longer names would not fit the report header's line.
INSTITUTION_MAX_LENGTH = 120


class PreferencesDialog(QDialog):
    """Edits a copy of the preferences; `preferences()` gives the edited ones (read them when `accepted`)."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(460)
        self._preferences = preferences
        self.institution = QLineEdit(preferences.institution)
        self.institution.setMaxLength(INSTITUTION_MAX_LENGTH)
        self.institution.setPlaceholderText("e.g. Department of Radiology, City Hospital")
        self.institution.setClearButtonEnabled(True)
        self.page_size = QComboBox()
        self.page_size.addItems(list(PAGE_SIZE_NAMES))
        self.page_size.setCurrentText(preferences.page_size)
        self.page_size.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.slice_count = QSpinBox()
        self.slice_count.setRange(1, MAX_SLICE_COUNT)
        self.slice_count.setValue(preferences.slice_count)
        self.slice_count.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # a number, not a line
        form = QFormLayout()
        form.addRow("Institution:", self.institution)
        form.addRow("", _note("Printed at the top of every PDF report. Left empty, reports say “Institution not "
                              "set”."))
        form.addRow("Report page size:", self.page_size)
        form.addRow("Slices to analyse:", self.slice_count)
        form.addRow("", _note(f"Analyse uses this many slices around the middle of each series, skipping nearly "
                              f"empty ones (default {DEFAULT_SLICE_COUNT}, as the command line's --slices). "
                              "Analysis → Analyse all slices uses every slice."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def preferences(self) -> Preferences:
        return dataclasses.replace(self._preferences, institution=self.institution.text().strip(),
                                   page_size=self.page_size.currentText(), slice_count=self.slice_count.value())


def _note(text: str) -> QLabel:
    """A quieter line under a setting that says what it does."""
    note = QLabel(text)
    note.setWordWrap(True)
    note.setStyleSheet("color: #9da5b4;")
    return note
