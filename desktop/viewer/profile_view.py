"""The probability profile above the slice slider: one thin curve per class (in the class colours of the results
panel) through the analysed slices, each at its slider position; analysed slices are shaded, slices without a
prediction (out of distribution, unreadable) carry an amber tick, slices not analysed stay empty. A click goes to
the slice under the cursor. What is drawn comes from `core.analysis.profile`; this widget only paints it.

Results stream in one slice at a time, and a series may have hundreds of slices: `set_slice` stores one slice's
entry and asks to repaint only the few pixels it touches (its column and the curve segments to its neighbours), and
a paint draws only the slices whose items reach into the area being repainted. A streamed result therefore costs
the same whatever the series' length; `set_profile` replaces the whole profile (another series, a new analysis).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF, QRegion
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.analysis.profile import ProbabilityProfile, SliceState, consecutive_runs, slice_at, slice_position
from core.model.labels import CLASSES
from desktop import theme

PROFILE_HEIGHT = 44
# Curves keep this far (pixels) from the top and bottom edges; the bottom margin holds the no-prediction ticks.
TOP_MARGIN, BOTTOM_MARGIN = 3, 5
CURVE_WIDTH, DOT_RADIUS = 1.5, 1.6
REACH = 3  # pixels a slice's own items (dot, pen, current-slice line) reach beyond its position
SCALE_GAP = 4  # pixels between the profile's right edge and its scale
NO_VALUES = np.full(len(CLASSES), np.nan)
BACKGROUND = QColor("#16181b")
ANALYSED = QColor("#2c3036")
GUIDE = QColor("#3a3d42")  # the 50 % line
TOOLTIP = ("Probability of each class on every analysed slice, in the colours of the results panel. Shaded: "
           "analysed; amber tick: no prediction (out of distribution or unreadable); empty: not analysed. Click to go "
           "to a slice.")


def probability_y(probability: float, height: float) -> float:
    """Where a probability lies in a profile `height` pixels tall: 1 at TOP_MARGIN, 0 BOTTOM_MARGIN above the foot."""
    return TOP_MARGIN + (1.0 - probability) * (height - TOP_MARGIN - BOTTOM_MARGIN)


class ProfileScale(QWidget):
    """The profile's vertical scale, to its right: "100%", "50%" (the dotted guide) and "0%" at the heights where the
    curves reach them, so the strip reads as probabilities without hovering for the tooltip."""

    MARKS = (1.0, 0.5, 0.0)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(PROFILE_HEIGHT)
        self.setToolTip(TOOLTIP)
        font = self.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() - 2))
        self.setFont(font)

    def marks(self) -> list[tuple[str, QRectF]]:
        """Each mark's text and the box it is drawn in: vertically centred on its height, kept inside the widget."""
        metrics = QFontMetricsF(self.font())
        boxes = []
        for probability in self.MARKS:
            text = f"{probability:.0%}"
            top = probability_y(probability, self.height()) - metrics.height() / 2
            top = min(max(top, 0.0), self.height() - metrics.height())
            boxes.append((text, QRectF(SCALE_GAP, top, metrics.horizontalAdvance(text), metrics.height())))
        return boxes

    def sizeHint(self) -> QSize:
        return QSize(SCALE_GAP + QFontMetricsF(self.font()).horizontalAdvance("100%") + 1, PROFILE_HEIGHT)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(theme.MUTED_TEXT)
        for text, box in self.marks():
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()


class ProfileView(QWidget):
    """Paints a probability profile; the `value_span` callable gives the x (in this widget) of the first and last
    slice, so slices line up with the slider's handle. `sliceClicked(index)` on a click. `painted_slices` counts the
    slices paint events have drawn (the work painting did, for tests)."""

    sliceClicked = Signal(int)

    def __init__(self, value_span: Callable[[], tuple[float, float]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value_span = value_span
        self._has_profile = False
        self._probabilities = np.empty((0, len(CLASSES)))  # our own copy, changed one slice at a time
        self._states: list[SliceState] = []
        self._snapshot: ProbabilityProfile | None = None  # what `profile()` returned, until a slice changes
        self._current = -1
        self._colours = [theme.class_colour(name) for name in CLASSES]  # probabilities come in this class order
        self.painted_slices = 0
        self.setFixedHeight(PROFILE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(TOOLTIP)

    def sizeHint(self) -> QSize:
        return QSize(200, PROFILE_HEIGHT)

    def profile(self) -> ProbabilityProfile | None:
        """The profile as shown now (None: none is shown)."""
        if not self._has_profile:
            return None
        if self._snapshot is None:
            self._snapshot = ProbabilityProfile(self._probabilities.copy(), tuple(self._states))
        return self._snapshot

    def set_profile(self, profile: ProbabilityProfile | None) -> None:
        """Show a whole profile (None: nothing); repaints everything."""
        self._has_profile = profile is not None
        self._probabilities = (np.array(profile.probabilities, dtype=float) if profile is not None
                               else np.empty((0, len(CLASSES))))
        self._states = list(profile.states) if profile is not None else []
        self._snapshot = profile
        self.update()

    def set_slice(self, index: int, state: SliceState, probabilities: np.ndarray | None) -> bool:
        """One slice's entry (`core.analysis.profile.slice_entry` of its result; probabilities None unless counted):
        stored, and only the area it touches is repainted. False (nothing done) without a profile or outside it."""
        if not self._has_profile or not 0 <= index < len(self._states):
            return False
        self._states[index] = state
        self._probabilities[index] = NO_VALUES if probabilities is None else probabilities
        self._snapshot = None
        self.update(self._slice_area(index))
        return True

    def set_current(self, index: int) -> None:
        if index == self._current:
            return
        previous, self._current = self._current, index
        for changed in (previous, index):
            if 0 <= changed < self._length():
                x = self.slice_x(changed)
                self.update(QRectF(x - REACH, 0, 2 * REACH, self.height()).toAlignedRect())

    def slice_x(self, index: int) -> float:
        """Where slice `index` is drawn (x in this widget)."""
        first, last = self._value_span()
        return slice_position(index, self._length(), first, last)

    def _length(self) -> int:
        return len(self._states)

    def _column_width(self, first: float, last: float) -> float:
        return max(1.0, (last - first) / max(1, self._length() - 1))

    def _slice_area(self, index: int) -> QRect:
        """What slice `index` draws: its shaded column and tick, its dots, and the curve segments to its neighbours."""
        first, last = self._value_span()
        length, half = self._length(), self._column_width(first, last) / 2
        left = slice_position(max(index - 1, 0), length, first, last)
        right = slice_position(min(index + 1, length - 1), length, first, last)
        x = slice_position(index, length, first, last)
        left, right = min(left, x - half) - REACH, max(right, x + half) + REACH
        return QRectF(left, 0, right - left, self.height()).toAlignedRect()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self._length():
            super().mousePressEvent(event)
            return
        first, last = self._value_span()
        self.sliceClicked.emit(slice_at(event.position().x(), self._length(), first, last))
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)  # clipped to the region being repainted
        painter.fillRect(event.rect(), BACKGROUND)
        if self._has_profile and self._length():
            self._paint_profile(painter, event.region())
        painter.end()

    def _y(self, probability: float) -> float:
        return probability_y(probability, self.height())

    def _slices_reaching(self, region: QRegion, first: float, last: float) -> list[int]:
        """The slices whose items can reach into `region` (painting clips the rest): those over each of its
        rectangles and one more on each side, whose curve segments cross into it; each slice once."""
        length = self._length()
        if last <= first:
            return list(range(length))
        reach = self._column_width(first, last) / 2 + REACH
        shown: set[int] = set()
        for area in region:
            low = slice_at(area.left() - reach, length, first, last) - 1
            high = slice_at(area.right() + 1 + reach, length, first, last) + 1
            shown.update(range(max(0, low), min(length - 1, high) + 1))
        return sorted(shown)

    def _paint_profile(self, painter: QPainter, region: QRegion) -> None:
        first, last = self._value_span()
        length, states = self._length(), self._states
        shown = self._slices_reaching(region, first, last)
        self.painted_slices += len(shown)
        xs = {index: slice_position(index, length, first, last) for index in shown}
        column = self._column_width(first, last)
        analysed = [index for index in shown if states[index] is not SliceState.NOT_ANALYSED]
        for run in consecutive_runs(analysed):
            painter.fillRect(QRectF(xs[run.start] - column / 2, 0, xs[run.stop - 1] - xs[run.start] + column,
                                    self.height()), ANALYSED)
        painter.setPen(QPen(GUIDE, 1, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(first, self._y(0.5)), QPointF(last, self._y(0.5)))
        for index in shown:
            if states[index] in (SliceState.OUT_OF_DISTRIBUTION, SliceState.UNREADABLE):
                painter.fillRect(QRectF(xs[index] - column / 2, self.height() - BOTTOM_MARGIN + 1, column,
                                        BOTTOM_MARGIN - 1), theme.WARNING)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        runs = consecutive_runs([index for index in shown if states[index] is SliceState.COUNTED])
        for class_index, colour in enumerate(self._colours):
            self._paint_curve(painter, xs, self._probabilities[:, class_index], runs, colour)
        if 0 <= self._current < length:
            x = slice_position(self._current, length, first, last)
            painter.setPen(QPen(theme.ACCENT, 1))
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _paint_curve(self, painter: QPainter, xs: dict[int, float], values: np.ndarray, runs: list[range],
                     colour: QColor) -> None:
        painter.setPen(QPen(colour, CURVE_WIDTH))
        painter.setBrush(colour)
        for run in runs:
            points = [QPointF(xs[index], self._y(float(values[index]))) for index in run]
            painter.drawPolyline(QPolygonF(points))
            for point in points:
                painter.drawEllipse(point, DOT_RADIUS, DOT_RADIUS)
