"""Series fields and a searchable tag table of the current slice (rows from `Slice.tags()`)."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.io.load import SeriesInfo, Slice
from core.output.wording import sex_words

# SeriesInfo field → label, in the order a radiologist reads them.
SERIES_FIELDS = (
    ("patient_name", "Patient"), ("patient_id", "Patient ID"), ("patient_birth_date", "Born"),
    ("patient_sex", "Sex"), ("study_date", "Study date"), ("study_time", "Study time"),
    ("accession_number", "Accession no."), ("study_description", "Study"),
    ("series_description", "Series"), ("series_number", "Series no."), ("modality", "Modality"),
    ("orientation", "Orientation"), ("manufacturer", "Manufacturer"),
)


def _millimetres(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} mm"


def _timing(info: SeriesInfo) -> str:
    """E.g. "TR 550, TE 10, TI 900 ms": what the sequence caveat reads the sequence from, shown so it can be
    checked (PS3.3 C.8.3.1)."""
    parts = [f"{name} {value:g}" for name, value in (("TR", info.repetition_time), ("TE", info.echo_time),
                                                      ("TI", info.inversion_time)) if value is not None]
    return f"{', '.join(parts)} ms" if parts else ""


def _contrast(info: SeriesInfo) -> str:
    """Contrast/Bolus Agent (0018,0010), which the sequence caveat also reads; nothing for pictures."""
    if info.from_pictures:
        return ""
    return "recorded" if info.contrast_agent_recorded else "none recorded"


class MetadataPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._field_labels: dict[str, QLabel] = {}
        self.no_metadata = QLabel("No DICOM metadata: a picture file carries no patient or series fields.")
        self.no_metadata.setWordWrap(True)
        self.no_metadata.setStyleSheet("color: #8a9099;")
        self._fields = fields = QFormLayout()
        for name, title in (*SERIES_FIELDS, ("timing", "Timing"), ("contrast", "Contrast agent"),
                            ("pixel_spacing", "Pixel spacing"), ("slice_thickness", "Slice thickness"),
                            ("slice_spacing", "Slice spacing")):
            label = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._field_labels[name] = label
            fields.addRow(title, label)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Search tags (name, number or value)…")
        self.filter.setClearButtonEnabled(True)
        self.tag_model = QStandardItemModel(0, 3, self)
        self.tag_model.setHorizontalHeaderLabels(["Tag", "Name", "Value"])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.tag_model)
        self.proxy.setFilterKeyColumn(-1)  # search every column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(1, 120)  # the value is what is read; a cut name has its tooltip
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)  # compact: more rows show
        self.table.setWordWrap(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        # The fields and the tag table share the dock through a splitter: on a laptop screen the table had room for
        # two rows, now the reader drags the boundary (the fields scroll).
        summary = QWidget()
        summary_layout = QVBoxLayout(summary)
        summary_layout.setContentsMargins(0, 0, 0, 0)
        summary_layout.addWidget(self.no_metadata)
        summary_layout.addLayout(fields)
        summary_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(summary)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        tags = QWidget()
        tags_layout = QVBoxLayout(tags)
        tags_layout.setContentsMargins(0, 0, 0, 0)
        tags_layout.addWidget(self.filter)
        tags_layout.addWidget(self.table, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(tags)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.splitter)
        self.show_series(None)

    def show_series(self, info: SeriesInfo | None) -> None:
        info = info or SeriesInfo()
        for name, _ in SERIES_FIELDS:
            self._field_labels[name].setText(getattr(info, name))
        self._field_labels["patient_sex"].setText(sex_words(info.patient_sex))  # as the report words it
        spacing = info.pixel_spacing
        self._field_labels["pixel_spacing"].setText(f"{spacing[0]:.3f} × {spacing[1]:.3f} mm" if spacing else "")
        self._field_labels["slice_thickness"].setText(_millimetres(info.slice_thickness))
        self._field_labels["slice_spacing"].setText(_millimetres(info.slice_spacing))
        self._field_labels["timing"].setText(_timing(info))
        self._field_labels["contrast"].setText(_contrast(info))
        # Unknown fields are hidden rather than listed empty (they are never invented). Each setRowVisible would
        # re-lay out the window (~2 ms), so the layout is switched off meanwhile and laid out once.
        self._fields.setEnabled(False)
        for row, label in enumerate(self._field_labels.values()):
            self._fields.setRowVisible(row, bool(label.text()))
        self._fields.setEnabled(True)
        self._fields.activate()
        self.no_metadata.setVisible(not any(label.text() for label in self._field_labels.values()))

    def show_tags(self, slice_: Slice | None) -> None:
        self.tag_model.removeRows(0, self.tag_model.rowCount())
        rows = slice_.tags() if slice_ is not None else []
        for row in rows:
            items = [QStandardItem(text) for text in row]
            for item in items:
                item.setEditable(False)
                item.setToolTip(item.text())  # long values do not fit a dock's width
            self.tag_model.appendRow(items)
        if slice_ is not None and not rows:
            self.tag_model.appendRow([QStandardItem(""), QStandardItem("Not a DICOM file"), QStandardItem("")])
