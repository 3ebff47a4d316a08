"""The results panel: study verdict with its rule, per-slice class and calibrated probabilities, and the notice that
this is decision support, not a diagnosis. Everything shown comes from `core.analysis.results` results.

Under the always-visible notice, a vertical splitter divides the verdict part (which scrolls by itself when short)
from the table of analysed slices, so the table keeps room for a whole analysis instead of sitting below the fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.model.labels import NOTUMOR
from core.output.wording import (
    NO_PREDICTION,
    capitalised,
    counted_words,
    format_percent,
    slice_outcome_words,
    slice_probability,
    slice_problem,
    verdict_cautions,
    verdict_text,
)
from desktop import theme

if TYPE_CHECKING:
    from core.analysis.results import SliceResult, StudyResult

DISCLAIMER = "Decision support only — not a diagnosis"
# The splitter's division, verdict part : slice table (the user can drag it): at 1280 × 800 the verdict shows all
# four class bars and the table the default nine analysed slices without scrolling, twelve at the default size.
SPLIT_WEIGHTS = (45, 55)
# Table rows this much taller than a line of text (Qt's default rows are about twice a line, so ~6 rows fitted).
ROW_PADDING = 6


class ProbabilityBars(QWidget):
    """One horizontal bar per class with its percentage, drawn with QPainter; the largest is emphasised."""

    ROW_HEIGHT = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str, float]] = []  # class key, display name, probability
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_probabilities(self, classes: Sequence[str], names: Sequence[str], probabilities: np.ndarray | None) -> None:
        self._rows = [] if probabilities is None else [
            (key, name, float(p)) for key, name, p in zip(classes, names, probabilities, strict=True)]
        self.setFixedHeight(self.ROW_HEIGHT * len(self._rows) + 4 if self._rows else 0)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, self.ROW_HEIGHT * len(self._rows) + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._rows:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bold = QFont(painter.font())
        bold.setBold(True)
        label_width = max(QFontMetrics(bold).horizontalAdvance(name) for _, name, _ in self._rows) + 10
        value_width = 48
        bar_width = max(10, self.width() - label_width - value_width - 8)
        best = max(probability for _, _, probability in self._rows)
        for row, (key, name, probability) in enumerate(self._rows):
            top = 2 + row * self.ROW_HEIGHT
            emphasised = probability == best
            font = painter.font()
            font.setBold(emphasised)
            painter.setFont(font)
            painter.setPen(self.palette().windowText().color())
            text_rect = QRectF(0, top, label_width, self.ROW_HEIGHT)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
            track = QRectF(label_width, top + 5, bar_width, self.ROW_HEIGHT - 10)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#2c3036"))
            painter.drawRoundedRect(track, 3, 3)
            colour = QColor(theme.class_colour(key))
            if not emphasised:
                colour.setAlpha(150)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(track.x(), track.y(), track.width() * probability, track.height()), 3, 3)
            painter.setPen(self.palette().windowText().color())
            value_rect = QRectF(label_width + bar_width + 4, top, value_width, self.ROW_HEIGHT)
            painter.drawText(value_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             format_percent(probability))
        painter.end()


def _section_title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    return label


def _scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a vertical scroll area: a short pane scrolls instead of squeezing word-wrapped text until lines
    overlap (seen at 1280x800 with a verdict, rule, both bar charts and the slice table shown)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class ResultsPanel(QWidget):
    """Study verdict, current-slice result and the per-slice table; `sliceActivated(index)` on a table click."""

    sliceActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._classes: list[str] = []
        self._names: list[str] = []

        self.state = QLabel()
        self.state.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        self.caution_note = QLabel()  # beside the verdict: a close call, slices that favour another class
        self.caution_note.setWordWrap(True)
        self.caution_note.setStyleSheet(f"color: {theme.WARNING.name()}; font-weight: bold;")
        self.caution_note.hide()
        self.sequence_note = QLabel()  # shown when the series is not the sequence the model learned tumours on
        self.sequence_note.setWordWrap(True)
        self.sequence_note.setStyleSheet(f"color: {theme.WARNING.name()};")
        self.sequence_note.hide()
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        self.rule.setStyleSheet("color: #9da5b4; font-size: 8pt;")  # the same sentence every time: quieter
        self.study_bars = ProbabilityBars()
        self.slice_title = _section_title("This slice")
        self.slice_verdict = QLabel()
        self.slice_verdict.setWordWrap(True)
        self.slice_bars = ProbabilityBars()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Slice", "Result", "Probability"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + ROW_PADDING)
        self.table.cellClicked.connect(self._activate_row)
        self.disclaimer = QLabel(DISCLAIMER)
        self.disclaimer.setObjectName("disclaimer")
        self.disclaimer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.disclaimer.setWordWrap(True)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(_scrolling(self._verdict_part()))
        self.splitter.addWidget(self._table_part())
        self._split_to_weights = True  # once shown (`showEvent`); later resizes keep the proportion
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.disclaimer)
        layout.addWidget(self.splitter, 1)
        self.clear()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        total = sum(self.splitter.sizes())
        if self._split_to_weights and total > 0:
            # Before the splitter has a height, setSizes is overridden by the parts' size hints.
            self._split_to_weights = False
            self.splitter.setSizes([round(total * weight / sum(SPLIT_WEIGHTS)) for weight in SPLIT_WEIGHTS])

    def _verdict_part(self) -> QWidget:
        part = QWidget()
        layout = QVBoxLayout(part)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_section_title("Study verdict"))
        layout.addWidget(self.verdict)
        layout.addWidget(self.caution_note)
        # The numbers first, then the sequence caveat and the rule, as in the report: a caveat of five lines above
        # the bars pushed the last classes out of sight at 1280 × 800.
        layout.addWidget(self.study_bars)
        layout.addWidget(self.sequence_note)
        layout.addWidget(self.rule)
        layout.addWidget(self.state)
        layout.addSpacing(6)
        layout.addWidget(self.slice_title)
        layout.addWidget(self.slice_verdict)
        layout.addWidget(self.slice_bars)
        layout.addStretch(1)
        return part

    def _table_part(self) -> QWidget:
        part = QWidget()
        layout = QVBoxLayout(part)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(_section_title("Analysed slices"))
        layout.addWidget(self.table, 1)
        return part

    def set_classes(self, classes: Sequence[str], display_names: Sequence[str]) -> None:
        self._classes, self._names = list(classes), list(display_names)

    def display_name(self, label: str | None) -> str:
        return self._names[self._classes.index(label)] if label in self._classes else (label or "")

    def clear(self, hint: str = "Not analysed yet — press Analyse (Ctrl+R).") -> None:
        self.table.setRowCount(0)
        self._set_verdict("—", None)
        self.rule.setText("")
        self.caution_note.hide()
        self.sequence_note.hide()
        self.study_bars.set_probabilities([], [], None)
        self.slice_verdict.setText("")
        self.slice_bars.set_probabilities([], [], None)
        self.state.setText(hint)

    def show_model_problem(self, reason: str) -> None:
        """The model cannot be used: say why, in the place the results would appear."""
        self.state.setText(f"<b>Analysis unavailable.</b> {reason}")
        self.state.setStyleSheet(f"color: {theme.WARNING.name()};")

    def show_state(self, text: str) -> None:
        self.state.setText(text)

    def add_slice_result(self, result: SliceResult) -> None:
        label = result.prediction.label if result.prediction is not None else None
        label_text = capitalised(slice_outcome_words(result, self.display_name))
        probability = slice_probability(result)
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate((result.slice_label, label_text, probability)):
            item = QTableWidgetItem(text)
            item.setToolTip(text)  # a narrow dock elides long slice names and "Out of distribution"
            item.setData(Qt.ItemDataRole.UserRole, result.slice_index)
            if column == 1:
                item.setForeground(theme.class_colour(label) if label else theme.WARNING)
            self.table.setItem(row, column, item)

    def show_study_result(self, result: StudyResult) -> None:
        verdict = verdict_text(result, self.display_name, separator="\u2002") or capitalised(NO_PREDICTION)
        # How many slices the verdict rests on stays beside it: the notes below may be out of sight.
        counted = (f' <span style="font-size: 10pt; font-weight: normal; color: {theme.MUTED_TEXT.name()};">'
                   f"({counted_words(result)})</span>")
        # "No tumour" is not shown in the reassuring green when some counted slices favour a tumour, or when the
        # sequence is not the one the model was validated on (its caution says a tumour may be missed).
        doubtful = bool(result.disagreeing_results) or not result.sequence_hint.validated
        self._set_verdict(verdict + counted, result.verdict_label, warn=result.verdict_label == NOTUMOR and doubtful)
        self.rule.setText(result.rule)
        self.caution_note.setText(" ".join(verdict_cautions(result)))
        self.caution_note.setVisible(bool(self.caution_note.text()))
        hint = result.sequence_hint
        self.sequence_note.setText(hint.sentence())
        # It weighs an answer: without one (every slice out of distribution) it would only confuse.
        self.sequence_note.setVisible(not hint.validated and result.verdict_label is not None)
        self.study_bars.set_probabilities(self._classes, self._names, result.probabilities)

    def show_current_slice(self, index: int, chosen: bool, result: SliceResult | None) -> None:
        """The result of slice `index` of the shown series, or why there is none (`chosen`: in the analysis set)."""
        self.slice_title.setText(f"This slice ({index + 1})")
        self._select_row_of(index)
        if result is None:
            self.slice_verdict.setText("Chosen for analysis, not analysed yet" if chosen
                                       else "Not in the analysis set — press I to include it")
            self.slice_verdict.setStyleSheet("color: #8a9099;")
            self.slice_bars.set_probabilities([], [], None)
            return
        problem = slice_problem(result)
        if problem is not None:
            self._show_slice_problem(*problem)
            return
        prediction = result.prediction
        assert prediction is not None and prediction.label is not None  # a slice without a problem is counted
        self.slice_verdict.setText(f"<b>{self.display_name(prediction.label)}</b>")
        self.slice_verdict.setStyleSheet(f"color: {theme.class_colour(prediction.label).name()};")
        self.slice_bars.set_probabilities(self._classes, self._names, prediction.probabilities)

    def show_slice_not_analysable(self, index: int) -> None:
        """Slice `index` of a series the model must not classify (the state above says why)."""
        self.slice_title.setText(f"This slice ({index + 1})")
        self.slice_verdict.setText("Not analysable: see above")
        self.slice_verdict.setStyleSheet(f"color: {theme.MUTED_TEXT.name()};")
        self.slice_bars.set_probabilities([], [], None)

    def _select_row_of(self, slice_index: int) -> None:
        """Highlight the shown slice's row in the table (and scroll to it), or none when it was not analysed."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == slice_index:
                self.table.selectRow(row)
                self.table.scrollToItem(item)
                return
        self.table.clearSelection()

    def _show_slice_problem(self, title: str, reason: str) -> None:
        """An analysed slice without a prediction: say so, and why, instead of showing bars."""
        self.slice_verdict.setText(f"<b>{title}</b><br>{reason}")
        self.slice_verdict.setStyleSheet(f"color: {theme.WARNING.name()};")
        self.slice_bars.set_probabilities([], [], None)

    def _set_verdict(self, text: str, label: str | None, warn: bool = False) -> None:
        """The verdict in its class's colour; grey without a class, the warning colour with `warn`."""
        self.verdict.setText(text)
        colour = theme.WARNING if warn else theme.class_colour(label) if label else QColor("#8a9099")
        self.verdict.setStyleSheet(f"color: {colour.name()};")

    def _activate_row(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.sliceActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))
