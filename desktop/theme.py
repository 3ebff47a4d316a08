"""Dark theme in the manner of PACS viewers: near-black image area, muted panels, one accent colour."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from core.model import labels

ACCENT = QColor("#3daee9")
WARNING = QColor("#e0a030")
IMAGE_BACKGROUND = QColor("#000000")
TEXT_ON_IMAGE = QColor("#e8e8e8")
MUTED_TEXT = QColor("#9da5b4")  # scales and captions, quieter than the controls
# Lines the user draws on the image (distance tool): yellow, as in Weasis and RadiAnt, apart from every class colour.
MEASUREMENT = QColor("#ffd54f")
CLASS_COLOURS = {name: QColor(colour) for name, colour in labels.CLASS_COLOURS.items()}
UNKNOWN_CLASS_COLOUR = QColor("#9da5b4")

_STYLE_SHEET = """
QToolTip { color: #e8e8e8; background: #2b2b2b; border: 1px solid #555; }
QDockWidget::title { background: #2a2d31; padding: 4px 6px; }
QGroupBox { border: 1px solid #3a3d42; border-radius: 4px; margin-top: 14px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #9da5b4; }
QLabel#disclaimer { background: #4a3a12; color: #f3d58a; border: 1px solid #7a5f1e; border-radius: 3px;
                    padding: 5px; font-weight: bold; }
QLabel#verdict { font-size: 17pt; font-weight: bold; }
QLabel#sectionTitle { color: #9da5b4; font-weight: bold; }
QToolBar { spacing: 4px; }
QToolButton:checked { background: #2f4a5c; border: 1px solid #3d6a85; border-radius: 3px; }
QToolButton#primaryAction { background: #2f6f95; color: #ffffff; font-weight: bold; padding: 3px 14px;
                            border-radius: 3px; }
QToolButton#primaryAction:hover { background: #3a84b0; }
QToolButton#primaryAction:disabled { background: #2a2d31; color: #6b7079; }
"""


def class_colour(class_name: str | None) -> QColor:
    return CLASS_COLOURS.get(class_name or "", UNKNOWN_CLASS_COLOUR)


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#1e2024",
        QPalette.ColorRole.WindowText: "#dcdfe4",
        QPalette.ColorRole.Base: "#16181b",
        QPalette.ColorRole.AlternateBase: "#202328",
        QPalette.ColorRole.Text: "#dcdfe4",
        QPalette.ColorRole.Button: "#2a2d31",
        QPalette.ColorRole.ButtonText: "#dcdfe4",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2b2b2b",
        QPalette.ColorRole.ToolTipText: "#e8e8e8",
        QPalette.ColorRole.PlaceholderText: "#7f848e",
        QPalette.ColorRole.Link: ACCENT.name(),
        QPalette.ColorRole.Highlight: "#2f6f95",
        QPalette.ColorRole.HighlightedText: "#ffffff",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7079"))
    app.setPalette(palette)
    app.setStyleSheet(_STYLE_SHEET)
