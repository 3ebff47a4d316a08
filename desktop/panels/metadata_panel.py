"""Series fields and a searchable tag table of the current slice (rows from `Slice.tags()`)."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QFormLayout, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from core.io.load import SeriesInfo, Slice
from core.output.wording import sex_words

# SeriesInfo field → label, in the order a radiologist reads them.
SERIES_FIELDS = (
    ("patient_name", "Patient"), ("patient_id", "Patient ID"), ("patient_birth_date", "Born"),
    ("patient_sex", "Sex"), ("study_date", "Study date"), ("study_description", "Study"),
    ("series_description", "Series"), ("series_number", "Series no."), ("modality", "Modality"),
    ("orientation", "Orientation"), ("manufacturer", "Manufacturer"),
)


def _millimetres(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} mm"


class MetadataPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._field_labels: dict[str, QLabel] = {}
        self.no_metadata = QLabel("No DICOM metadata: a picture file carries no patient or series fields.")
        self.no_metadata.setWordWrap(True)
        self.no_metadata.setStyleSheet("color: #8a9099;")
        self._fields = fields = QFormLayout()
        for name, title in (*SERIES_FIELDS, ("pixel_spacing", "Pixel spacing"),
                            ("slice_thickness", "Slice thickness"), ("slice_spacing", "Slice spacing")):
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
        header.resizeSection(1, 110)
        self.table.setWordWrap(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.no_metadata)
        layout.addLayout(fields)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
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
        # Unknown fields are hidden rather than listed empty (they are never invented). Each setRowVisible would
        # re-lay out the window (~2 ms), so the layout is switched off meanwhile and laid out once.
        layout = self.layout()
        layout.setEnabled(False)
        for row, label in enumerate(self._field_labels.values()):
            self._fields.setRowVisible(row, bool(label.text()))
        layout.setEnabled(True)
        layout.activate()
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
