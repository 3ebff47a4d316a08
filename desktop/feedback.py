"""What the window tells the user about work in progress: the status line, the progress bar and non-blocking error
messages. The controllers (study loading, analysis, export, cases) share one `Feedback`."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QWidget

log = logging.getLogger(__name__)


class Feedback:
    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self.status_text = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.progress_bar.hide()

    def show_status(self, text: str) -> None:
        self.status_text.setText(text)

    def show_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.show()

    def show_busy(self) -> None:
        """A busy indicator: the work has no steps to count (loading the model)."""
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()

    def hide_progress(self) -> None:
        self.progress_bar.hide()

    def report_error(self, title: str, reason: str) -> None:
        """A non-blocking message with the reason; the window stays usable."""
        log.warning("%s: %s", title, reason)
        self.show_status(f"{title}: {reason}")
        box = QMessageBox(QMessageBox.Icon.Warning, title, reason, QMessageBox.StandardButton.Ok, self._parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
