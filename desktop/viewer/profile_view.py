"""The probability profile above the slice slider: one thin curve per class (in the class colours of the results
panel) through the analysed slices, each at its slider position; analysed slices are shaded, slices without a
prediction (out of distribution, unreadable) carry an amber tick, slices not analysed stay empty. A click goes to
the slice under the cursor. What is drawn comes from `core.analysis.profile`; this widget only paints it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.analysis.profile import ProbabilityProfile, SliceState, slice_at, slice_position
from core.model.labels import CLASSES
from desktop import theme

PROFILE_HEIGHT = 44
# Curves keep this far (pixels) from the top and bottom edges; the bottom margin holds the no-prediction ticks.
TOP_MARGIN, BOTTOM_MARGIN = 3, 5
BACKGROUND = QColor("#16181b")
ANALYSED = QColor("#2c3036")
GUIDE = QColor("#3a3d42")  # the 50 % line
TOOLTIP = ("Probability of each class on every analysed slice, in the colours of the results panel. Shaded: "
           "analysed; amber tick: no prediction (out of distribution or unreadable); empty: not analysed. Click to go "
           "to a slice.")


class ProfileView(QWidget):
    """Paints a `ProbabilityProfile`; the `value_span` callable gives the x (in this widget) of the first and last
    slice, so slices line up with the slider's handle. `sliceClicked(index)` on a click."""

    sliceClicked = Signal(int)

    def __init__(self, value_span: Callable[[], tuple[float, float]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value_span = value_span
        self._profile: ProbabilityProfile | None = None
        self._current = -1
        self._colours = [theme.class_colour(name) for name in CLASSES]  # probabilities come in this class order
        self.setFixedHeight(PROFILE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(TOOLTIP)

    def sizeHint(self) -> QSize:
        return QSize(200, PROFILE_HEIGHT)

    def profile(self) -> ProbabilityProfile | None:
        return self._profile

    def set_profile(self, profile: ProbabilityProfile | None) -> None:
        self._profile = profile
        self.update()

    def set_current(self, index: int) -> None:
        self._current = index
        self.update()

    def slice_x(self, index: int) -> float:
        """Where slice `index` is drawn (x in this widget)."""
        first, last = self._value_span()
        return slice_position(index, self._length(), first, last)

    def _length(self) -> int:
        return self._profile.series_length if self._profile is not None else 0

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self._length():
            super().mousePressEvent(event)
            return
        first, last = self._value_span()
        self.sliceClicked.emit(slice_at(event.position().x(), self._length(), first, last))
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        profile = self._profile
        if profile is not None and profile.series_length:
            self._paint_profile(painter, profile)
        painter.end()

    def _y(self, probability: float) -> float:
        return TOP_MARGIN + (1.0 - probability) * (self.height() - TOP_MARGIN - BOTTOM_MARGIN)

    def _paint_profile(self, painter: QPainter, profile: ProbabilityProfile) -> None:
        first, last = self._value_span()
        length = profile.series_length
        xs = [slice_position(index, length, first, last) for index in range(length)]  # the span once per paint
        column = max(1.0, (last - first) / max(1, length - 1))
        for run in profile.analysed_runs():
            painter.fillRect(QRectF(xs[run.start] - column / 2, 0, xs[run.stop - 1] - xs[run.start] + column,
                                    self.height()), ANALYSED)
        painter.setPen(QPen(GUIDE, 1, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(first, self._y(0.5)), QPointF(last, self._y(0.5)))
        for state in (SliceState.OUT_OF_DISTRIBUTION, SliceState.UNREADABLE):
            for index in profile.indices(state):
                painter.fillRect(QRectF(xs[index] - column / 2, self.height() - BOTTOM_MARGIN + 1, column,
                                        BOTTOM_MARGIN - 1), theme.WARNING)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        runs = profile.runs()
        for class_index, colour in enumerate(self._colours):
            self._paint_curve(painter, xs, profile.probabilities[:, class_index], runs, colour)
        if 0 <= self._current < length:
            painter.setPen(QPen(theme.ACCENT, 1))
            painter.drawLine(QPointF(xs[self._current], 0), QPointF(xs[self._current], self.height()))

    def _paint_curve(self, painter: QPainter, xs: list[float], values: np.ndarray, runs: list[range],
                     colour: QColor) -> None:
        painter.setPen(QPen(colour, 1.5))
        painter.setBrush(colour)
        for run in runs:
            points = [QPointF(xs[index], self._y(float(values[index]))) for index in run]
            painter.drawPolyline(QPolygonF(points))
            for point in points:
                painter.drawEllipse(point, 1.6, 1.6)
