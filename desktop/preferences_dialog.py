"""File → Preferences: settings the user chooses once for every study. Today the institution name that heads each
PDF report (the CLI's --institution); until it is set reports say "Institution not set"."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop.settings import Preferences

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
        note = QLabel("Printed at the top of every PDF report. Left empty, reports say “Institution not set”.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #9da5b4;")
        form = QFormLayout()
        form.addRow("Institution:", self.institution)
        form.addRow("", note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def preferences(self) -> Preferences:
        return dataclasses.replace(self._preferences, institution=self.institution.text().strip())
