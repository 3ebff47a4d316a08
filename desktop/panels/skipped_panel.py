"""Files that could not be opened, each with the reason, until the user dismisses the list."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.io.load import SkippedFile


class SkippedFilesPanel(QWidget):
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.clicked.connect(self.dismissed)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.dismiss)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.table)

    def set_skipped(self, skipped: Sequence[SkippedFile]) -> None:
        self.summary.setText(f"{len(skipped)} file(s) could not be opened")
        self.table.setRowCount(len(skipped))
        for row, entry in enumerate(skipped):
            name = QTableWidgetItem(entry.path.name)
            name.setToolTip(str(entry.path))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(entry.reason))

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(row, 0).text(), self.table.item(row, 1).text())
                for row in range(self.table.rowCount())]
