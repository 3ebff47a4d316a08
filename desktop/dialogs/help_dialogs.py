"""Help → Keyboard shortcuts and Help → About.

The shortcuts list is generated from the window's actions and the viewer's own key table
(`viewer.slice_keys.SLICE_KEYS`), so it always names the keys that actually work. The About box reads versions from
the running interpreter and Qt, and the model's identity from its manifest (plain JSON: TensorFlow is never imported
for it).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import core
from core.errors import BrainMriError
from core.model.classifier import ModelManifest
from desktop.panels.results_panel import DISCLAIMER
from desktop.viewer.slice_keys import MOUSE_GESTURES, SLICE_KEYS

#: How much of the weights' sha256 the About box shows: enough to tell releases apart at a glance.
SHA256_PREFIX_CHARS = 12
COMMANDS_SECTION = "Commands (menus and toolbar)"
VIEWER_KEYS_SECTION = "Image viewer keys"
MOUSE_SECTION = "Mouse in the image viewer"


def _key_text(sequences: Iterable[QKeySequence]) -> str:
    return ", ".join(sequence.toString(QKeySequence.SequenceFormat.NativeText) for sequence in sequences)


def action_shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(keys, what the action does) for each action that has a shortcut, in the given order; toggles are marked."""
    rows = []
    for action in actions:
        if action.shortcuts():
            name = action.text().replace("&", "").rstrip("…")
            rows.append((_key_text(action.shortcuts()), name + (" (on/off)" if action.isCheckable() else "")))
    return rows


def shortcut_sections(window: QWidget) -> dict[str, list[tuple[str, str]]]:
    """Every shortcut of the window by section: its actions' (wherever they are shown), the viewer's slice keys and
    its mouse gestures."""
    return {
        COMMANDS_SECTION: action_shortcut_rows(window.findChildren(QAction)),
        VIEWER_KEYS_SECTION: [(_key_text([QKeySequence(key)]), what) for key, (what, _) in SLICE_KEYS.items()],
        MOUSE_SECTION: list(MOUSE_GESTURES),
    }


class ShortcutsDialog(QDialog):
    """A two-column table (keys, what they do) with a bold title row per section."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 640)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Keys", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        for section, rows in shortcut_sections(window).items():
            self._add_section(section, rows)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def _add_section(self, title: str, rows: list[tuple[str, str]]) -> None:
        heading = QTableWidgetItem(title)
        font = QFont(heading.font())
        font.setBold(True)
        heading.setFont(font)
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, heading)
        self.table.setSpan(row, 0, 1, 2)
        for keys, what in rows:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(what))

    def rows(self) -> list[tuple[str, str]]:
        """The table as (keys, what) pairs; section titles have an empty second column."""
        return [(self.table.item(row, 0).text(), self.table.item(row, 1).text() if self.table.item(row, 1) else "")
                for row in range(self.table.rowCount())]


def about_rows(read_manifest: Callable[[], ModelManifest]) -> list[tuple[str, str]]:
    """(label, value) pairs for the About box. A missing or damaged model is reported in place of its identity,
    since that is exactly when someone opens About to find out what is installed."""
    rows = [
        ("Application version", core.__version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
    ]
    try:
        manifest = read_manifest()
    except BrainMriError as error:
        return rows + [("Model", f"not available ({error.reason})")]
    except OSError as error:  # e.g. a manifest the user may not read
        return rows + [("Model", f"not available ({error.strerror or error})")]
    return rows + [
        ("Model", f"{manifest.name} {manifest.version}"),
        ("Weights sha256", manifest.weights_sha256[:SHA256_PREFIX_CHARS] + "…"),
    ]


class AboutDialog(QDialog):
    def __init__(self, app_name: str, read_manifest: Callable[[], ModelManifest], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"About {app_name}")
        title = QLabel(app_name)
        title.setObjectName("verdict")  # the theme's large bold style
        notice = QLabel(DISCLAIMER)
        notice.setObjectName("disclaimer")
        form = QFormLayout()
        self.values: dict[str, str] = dict(about_rows(read_manifest))
        for label, value in self.values.items():
            field = QLabel(value)
            field.setWordWrap(True)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(QLabel("Offline decision support for brain MRI classification."))
        layout.addLayout(form)
        layout.addWidget(notice)
        layout.addWidget(buttons)


def open_dialog(dialog: QDialog) -> None:
    """Show a dialog window-modally without blocking the event loop, and free it when closed."""
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
