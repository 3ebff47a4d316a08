"""The slider under the viewer with its "slice k / n" label, its marks (slices chosen for analysis, slices with a
result) and the probability profile above it, all following the session model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QStyle, QStyleOptionSlider, QWidget

from core.analysis.profile import probability_profile, slice_entry, slice_position
from core.model.labels import CLASSES
from core.session import SessionModel, marks
from desktop import theme
from desktop.viewer.profile_view import ProfileScale, ProfileView

if TYPE_CHECKING:
    from core.analysis.results import SliceResult


class MarkedSlider(QSlider):
    """A horizontal slider that draws ticks at marked values (the slices chosen for analysis) and coloured ticks at
    values that have a result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._marks: dict[int, QColor] = {}
        self.setMinimumHeight(26)

    def set_marks(self, marks: Mapping[int, QColor]) -> None:
        self._marks = dict(marks)
        self.update()

    def marks(self) -> dict[int, QColor]:
        return dict(self._marks)

    def value_span(self) -> tuple[float, float]:
        """Where the handle's centre is (x, in this widget) at the minimum and at the maximum value."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderHandle, self)
        first = groove.x() + handle.width() / 2
        return first, first + groove.width() - handle.width()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._marks or self.maximum() <= self.minimum():
            return
        first, last = self.value_span()
        count = self.maximum() - self.minimum() + 1
        painter = QPainter(self)
        for value, colour in self._marks.items():
            x = slice_position(value - self.minimum(), count, first, last)
            painter.setPen(QPen(colour, 3))
            painter.drawLine(QPointF(x, 1), QPointF(x, 6))
            painter.drawLine(QPointF(x, self.height() - 6), QPointF(x, self.height() - 1))
        painter.end()


class SliceNavigator(QWidget):
    """The slider under the viewer with its "slice k / n" label, following the session's shown series and slice,
    and above the slider, once the series has results, the probability profile (`ProfileView`) on the slider's own
    scale. The slider marks the slices chosen for analysis (accent) and those with a result (their class's colour,
    the warning colour without a class)."""

    def __init__(self, session: SessionModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.slider = MarkedSlider(self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the viewer
        self.profile = ProfileView(self._profile_span, self)
        self.profile.hide()
        self.profile_scale = ProfileScale(self)
        self.profile_scale.hide()
        self.label = QLabel(self)
        self.label.setMinimumWidth(110)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setVerticalSpacing(0)
        layout.addWidget(self.profile, 0, 0)  # the slider's column: one slice lies at one x in both
        layout.addWidget(self.profile_scale, 0, 1)
        layout.addWidget(self.slider, 1, 0)
        layout.addWidget(self.label, 1, 1)
        layout.setColumnStretch(0, 1)
        self.slider.valueChanged.connect(session.set_slice)
        self.profile.sliceClicked.connect(session.set_slice)
        session.series_changed.connect(self.refresh)
        session.slice_changed.connect(self._show_index)
        session.analysis_set_changed.connect(self._on_series_state)
        session.results_reset.connect(self._on_results)
        session.slice_result_added.connect(self._on_slice_result)
        self.refresh()

    def refresh(self, *_changed: object) -> None:
        """Take the range, marks and profile from the session's shown series."""
        series = self._session.current_series
        count = len(series) if series is not None else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        self.slider.setPageStep(max(1, count // 10))
        self.slider.blockSignals(False)
        self.slider.setEnabled(count > 1)
        self._show_index(self._session.slice_index if count else 0)
        self._update_marks()
        self._update_profile()

    def _on_series_state(self, series_index: int) -> None:
        if series_index == self._session.series_index:
            self._update_marks()

    def _on_results(self, series_index: int, *_result: object) -> None:
        if series_index == self._session.series_index:
            self._update_marks()
            self._update_profile()

    def _on_slice_result(self, series_index: int, result: SliceResult) -> None:
        """One streamed result changes one slice: its mark, and its place in the profile when one is shown (rebuilding
        the whole profile for every result cost O(n²) over a series of n slices)."""
        if series_index != self._session.series_index:
            return
        self._update_marks()
        if not self.profile.set_slice(result.slice_index, *slice_entry(result)):
            self._update_profile()

    def _update_marks(self) -> None:
        self.slider.set_marks({index: (theme.class_colour(label) if label else theme.WARNING) if label is not None
                               else theme.ACCENT for index, label in marks(self._session).items()})

    def _update_profile(self) -> None:
        """The probability profile of the shown series once an analysis of it has started; hidden before."""
        series, session = self._session.current_series, self._session
        profile = None if series is None or not session.has_results() else probability_profile(
            session.slice_results().values(), len(series), len(CLASSES))
        self.profile.set_profile(profile)
        self.profile.setVisible(profile is not None)
        self.profile_scale.setVisible(profile is not None)

    def _profile_span(self) -> tuple[float, float]:
        """The slider's value span in the profile's coordinates (they share this widget's column)."""
        first, last = self.slider.value_span()
        offset = self.slider.x() - self.profile.x()
        return first + offset, last + offset

    def _show_index(self, index: int) -> None:
        series = self._session.current_series
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.profile.set_current(index)
        self.label.setText(f"slice {index + 1} / {len(series)}" if series is not None else "no study")
