"""Controls for the Grad-CAM overlay; every change emits new `OverlaySettings` and the viewer re-renders from the
cached CAM (no model run). Under the class selector, the class the shown map explains and its probability on the
slice: Grad-CAM draws a map for any class, so a map of an unlikely class is flagged as weak evidence."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QWidget

from core.analysis.overlay import COLORMAPS, Explanation, OverlaySettings
from core.output.wording import explained_class_words, threshold_words
from desktop import theme

PREDICTED_CLASS = "Predicted class"


def _percent_slider(value: float) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(round(value * 100))
    slider.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    return slider


def _beside(slider: QSlider, value: QLabel) -> QHBoxLayout:
    """The slider with its value to its right, wide enough for "100%" so the slider does not jump while dragged."""
    value.setMinimumWidth(value.fontMetrics().horizontalAdvance("100%"))
    value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    row = QHBoxLayout()
    row.addWidget(slider, 1)
    row.addWidget(value)
    return row


class OverlayPanel(QWidget):
    settingsChanged = Signal(object)  # OverlaySettings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        defaults = OverlaySettings()
        self.visible = QCheckBox("Show overlay (H)")
        self.visible.setChecked(defaults.visible)
        self.opacity = _percent_slider(defaults.opacity)
        self.threshold = _percent_slider(defaults.threshold)
        self.opacity_value = QLabel()
        self.threshold_value = QLabel()
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.colormap.setCurrentText(defaults.colormap)
        self.explained_class = QComboBox()
        self.explained_class.addItem(PREDICTED_CLASS)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)

        # Compact: on a 1280 × 800 screen every line this dock saves goes to the study verdict above it.
        form = QFormLayout(self)
        form.setContentsMargins(8, 6, 8, 6)
        form.setVerticalSpacing(4)
        form.addRow(self.visible)
        form.addRow("Opacity", _beside(self.opacity, self.opacity_value))
        form.addRow("Threshold", self.threshold)
        form.addRow("", self.threshold_value)
        form.addRow("Colour map", self.colormap)
        form.addRow("Explain", self.explained_class)
        form.addRow("", self.explanation)

        self.visible.toggled.connect(self._emit)
        self.opacity.valueChanged.connect(self._emit)
        self.threshold.valueChanged.connect(self._emit)
        self.colormap.currentIndexChanged.connect(self._emit)
        self.explained_class.currentIndexChanged.connect(self._emit)
        self._show_values()

    def set_class_names(self, display_names: Sequence[str]) -> None:
        """Offer "predicted" and every class by name (index i + 1 in the combo is class i)."""
        self.explained_class.blockSignals(True)
        self.explained_class.clear()
        self.explained_class.addItem(PREDICTED_CLASS)
        self.explained_class.addItems(list(display_names))
        self.explained_class.blockSignals(False)

    def show_explanation(self, explanation: Explanation | None) -> None:
        """Say which class the map on screen explains and how probable it is on this slice, in the warning colour
        and with "weak evidence" when that probability is low; nothing when no map is shown."""
        if explanation is None:
            self.explanation.clear()
            return
        self.explanation.setText("Explaining " + self.explained_words(explanation))
        self.explanation.setStyleSheet(f"color: {theme.WARNING.name()}; font-weight: bold;" if explanation.weak else "")

    def explained_words(self, explanation: Explanation) -> str:
        """E.g. "Meningioma (probability <1%, weak evidence)", with the class named as in the Explain list."""
        name = self.explained_class.itemText(explanation.class_index + 1) or f"class {explanation.class_index}"
        return explained_class_words(name, explanation)

    def show_settings(self, settings: OverlaySettings) -> None:
        """Set the controls to `settings` (the session's) without announcing it back."""
        controls = (self.visible, self.opacity, self.threshold, self.colormap, self.explained_class)
        for control in controls:
            control.blockSignals(True)
        self.visible.setChecked(settings.visible)
        self.opacity.setValue(round(settings.opacity * 100))
        self.threshold.setValue(round(settings.threshold * 100))
        self.colormap.setCurrentText(settings.colormap)
        self.explained_class.setCurrentIndex(0 if settings.class_index is None else settings.class_index + 1)
        for control in controls:
            control.blockSignals(False)
        self._show_values()

    def toggle_visible(self) -> None:
        self.visible.toggle()

    def settings(self) -> OverlaySettings:
        chosen = self.explained_class.currentIndex()
        return OverlaySettings(
            visible=self.visible.isChecked(),
            opacity=self.opacity.value() / 100.0,
            threshold=self.threshold.value() / 100.0,
            colormap=self.colormap.currentText(),
            class_index=None if chosen <= 0 else chosen - 1,
        )

    def _show_values(self) -> None:
        self.opacity_value.setText(f"{self.opacity.value()}%")
        self.threshold_value.setText(threshold_words(self.threshold.value() / 100.0))

    def _emit(self) -> None:
        self._show_values()
        self.settingsChanged.emit(self.settings())
