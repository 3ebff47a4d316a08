"""Display-only image options: the contrast-enhancement (CLAHE) toggle and the statement that goes with it.

The statement is part of the widget so that wherever the toggle appears, the user reads that the model is unaffected.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from core.viewing.enhance import clahe

CONTRAST_TOGGLE_TEXT = "Enhance contrast (CLAHE)"
DISPLAY_ONLY_STATEMENT = "Display only — the model always receives the unenhanced image"


def displayed_pixels(display_u8: np.ndarray, contrast_enhanced: bool) -> np.ndarray:
    """What to paint for a display image: enhanced when the toggle is on. Never feed this to the model."""
    return clahe(display_u8) if contrast_enhanced else display_u8


class ContrastToggle(QWidget):
    """A check box for CLAHE with the display-only statement beneath it."""

    toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check_box = QCheckBox(CONTRAST_TOGGLE_TEXT)
        self.check_box.setToolTip("Contrast-limited adaptive histogram equalisation of the shown image. "
                                  + DISPLAY_ONLY_STATEMENT + ".")
        self.statement = QLabel(DISPLAY_ONLY_STATEMENT)
        self.statement.setObjectName("displayOnlyStatement")
        self.statement.setStyleSheet("color: #9da5b4; font-size: 8pt;")  # quieter than controls, still legible
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self.check_box)
        layout.addWidget(self.statement)
        self.check_box.toggled.connect(self.toggled)

    def contrast_enhanced(self) -> bool:
        return self.check_box.isChecked()

    def set_contrast_enhanced(self, enhanced: bool) -> None:
        self.check_box.setChecked(enhanced)
