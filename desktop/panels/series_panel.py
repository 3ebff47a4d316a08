"""The series list: a thumbnail and a description per series, how many slices are chosen for analysis, and each
analysed series' result, so that a study of several series can be compared at a glance."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from core.analysis.results import not_analysable_reason
from core.io.load import Series
from desktop.viewer.image_view import to_qimage

THUMBNAIL_SIZE = 96


class SeriesPanel(QWidget):
    """Lists the series of the open study; `seriesSelected(index)` when the user picks one."""

    seriesSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.list.setWordWrap(True)
        self.list.setSpacing(3)
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        self._series: list[Series] = []
        self._chosen_counts: dict[int, int] = {}
        self._results: dict[int, str] = {}
        self.list.currentRowChanged.connect(self._emit_selection)

    def set_series(self, series: list[Series]) -> None:
        self._series = list(series)
        self._chosen_counts, self._results = {}, {}
        self.list.blockSignals(True)
        self.list.clear()
        for index in range(len(self._series)):
            item = QListWidgetItem(self._item_text(index))
            item.setSizeHint(QSize(THUMBNAIL_SIZE + 140, THUMBNAIL_SIZE + 8))
            self.list.addItem(item)
        self.list.blockSignals(False)

    def select(self, index: int) -> None:
        self.list.blockSignals(True)
        self.list.setCurrentRow(index)
        self.list.blockSignals(False)

    def set_thumbnail(self, index: int, display_u8: np.ndarray) -> None:
        item = self.list.item(index)
        if item is None:
            return
        pixmap = QPixmap.fromImage(to_qimage(display_u8)).scaled(THUMBNAIL_SIZE, THUMBNAIL_SIZE,
                                                                  Qt.AspectRatioMode.KeepAspectRatio,
                                                                  Qt.TransformationMode.SmoothTransformation)
        item.setIcon(QIcon(pixmap))

    def set_chosen_count(self, index: int, count: int) -> None:
        """Show how many slices of a series are in its analysis set."""
        self._chosen_counts[index] = count
        self._refresh(index)

    def set_result(self, index: int, result: str) -> None:
        """Show a series' result ("Glioma 99%", "no prediction"); "" when it has none (yet)."""
        self._results[index] = result
        self._refresh(index)

    def _refresh(self, index: int) -> None:
        item = self.list.item(index)
        if item is not None:
            item.setText(self._item_text(index))

    def _item_text(self, index: int) -> str:
        series = self._series[index]
        if not_analysable_reason(series.info):  # e.g. CT: nothing is chosen, and the list says why at a glance
            return f"{series.description}\nnot analysable ({series.info.modality.strip().upper()})"
        chosen = self._chosen_counts.get(index)
        lines = [series.description, "" if chosen is None else f"{chosen} chosen for analysis",
                 self._results.get(index, "")]
        return "\n".join(line for line in lines if line)

    def _emit_selection(self, row: int) -> None:
        if row >= 0:
            self.seriesSelected.emit(row)
