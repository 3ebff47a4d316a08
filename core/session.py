"""The viewing and analysis session: one evented model of what the user has open and what the model returned.

`SessionModel` holds the open study, the shown series and slice, the window (W/L) of each series, the slices chosen
for analysis in each series, the results streamed for each series, the Grad-CAM overlay settings and the display
options (CLAHE). Its methods change that state and emit `psygnal` signals (napari's event library); views observe
the signals and call the methods, and keep no copies of their own. No Qt here, so a test can open a study, move
through slices, stream results and change the overlay without a window.

Signals are emitted synchronously, on the thread that calls the method: the desktop calls it on the UI thread only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from psygnal import Signal

from core.analysis.overlay import OverlaySettings

if TYPE_CHECKING:
    from core.analysis.results import SliceResult, StudyResult
    from core.io.load import Series, Slice, Study
    from core.io.windowing import Window
    from core.model.classifier import SlicePrediction


@dataclass(frozen=True)
class DisplayOptions:
    """How slices are painted, never what the model receives."""

    contrast_enhanced: bool = False  # CLAHE (core.viewing.enhance), display only


class SessionModel:
    """State of one window's session; every change goes through a method that emits what changed."""

    #: A study was opened (None: closed); every per-series state was reset. Followed by `series_changed`.
    study_changed = Signal(object)
    #: The shown series (index into `study.series`, -1 for none); the current slice moved with it.
    series_changed = Signal(int)
    #: The shown slice of the shown series.
    slice_changed = Signal(int)
    #: (series index, Window or None for each slice's default) of a series' window/level.
    window_changed = Signal(int, object)
    #: (series index) whose analysis set changed.
    analysis_set_changed = Signal(int)
    #: (series index) whose results were replaced wholesale: cleared for a new analysis, or restored from a case.
    results_reset = Signal(int)
    #: (series index, SliceResult) streamed in during an analysis.
    slice_result_added = Signal(int, object)
    #: (series index, StudyResult or None).
    study_result_changed = Signal(int, object)
    #: The Grad-CAM overlay settings (OverlaySettings).
    overlay_changed = Signal(object)
    #: The display options (DisplayOptions).
    display_changed = Signal(object)

    def __init__(self) -> None:
        self.study: Study | None = None
        self.series_index = -1
        self.slice_index = -1
        self.overlay = OverlaySettings()
        self.display = DisplayOptions()
        self._windows: dict[int, Window] = {}
        self._analysis_sets: dict[int, set[int]] = {}
        self._slice_results: dict[int, dict[int, SliceResult]] = {}
        self._study_results: dict[int, StudyResult] = {}

    # ----- study, series, slice ------------------------------------------------------------------------------------

    def open_study(self, study: Study | None) -> None:
        """Show `study` (the series `core.analysis.pipeline.series_to_open` picks), forgetting everything about the
        one before."""
        from core.analysis.pipeline import series_to_open

        self.study = study
        self.series_index = self.slice_index = -1
        self._windows, self._analysis_sets, self._slice_results, self._study_results = {}, {}, {}, {}
        self.study_changed.emit(study)
        if study is not None and study.series:
            self.select_series(series_to_open(study.series))
        else:
            self.series_changed.emit(-1)

    @property
    def current_series(self) -> Series | None:
        if self.study is None or not 0 <= self.series_index < len(self.study.series):
            return None
        return self.study.series[self.series_index]

    @property
    def current_slice(self) -> Slice | None:
        series = self.current_series
        return series.slices[self.slice_index] if series is not None and series.slices else None

    def select_series(self, index: int, force: bool = False) -> None:
        """Show series `index` at its middle slice (the one its thumbnail shows). Selecting the shown series again
        changes nothing unless `force` (a case restored onto it)."""
        if self.study is None or not 0 <= index < len(self.study.series):
            return
        if index == self.series_index and not force:
            return
        self.series_index = index
        self.slice_index = len(self.study.series[index]) // 2
        self.series_changed.emit(index)

    def set_slice(self, index: int) -> None:
        """Move to slice `index` of the shown series (kept within the series)."""
        series = self.current_series
        if series is None or not series.slices:
            return
        index = max(0, min(index, len(series) - 1))
        if index != self.slice_index:
            self.slice_index = index
            self.slice_changed.emit(index)

    def step(self, delta: int) -> None:
        self.set_slice(self.slice_index + delta)

    # ----- window / level ------------------------------------------------------------------------------------------

    def window(self, series_index: int | None = None) -> Window | None:
        """The window chosen for a series (default: the shown one); None means each slice's default window."""
        return self._windows.get(self._series(series_index))

    def set_window(self, window: Window | None, series_index: int | None = None) -> None:
        index = self._series(series_index)
        if window is None:
            self._windows.pop(index, None)
        else:
            self._windows[index] = window
        self.window_changed.emit(index, window)

    # ----- analysis set --------------------------------------------------------------------------------------------

    def analysis_set(self, series_index: int | None = None) -> list[int]:
        """Slice indices of a series (default: the shown one) chosen for analysis, in order."""
        return sorted(self._analysis_sets.get(self._series(series_index), ()))

    def has_analysis_set(self, series_index: int | None = None) -> bool:
        return self._series(series_index) in self._analysis_sets

    def is_chosen(self, slice_index: int | None = None) -> bool:
        """Whether a slice of the shown series (default: the shown one) is in its analysis set."""
        chosen = self._analysis_sets.get(self.series_index, set())
        return (self.slice_index if slice_index is None else slice_index) in chosen

    def set_analysis_set(self, series_index: int, indices: Iterable[int]) -> None:
        self._analysis_sets[series_index] = set(indices)
        self.analysis_set_changed.emit(series_index)

    def offer_analysis_set(self, series_index: int, indices: Iterable[int]) -> None:
        """The default choice (central slices) for a series, kept only if the series has no set yet."""
        if series_index not in self._analysis_sets:
            self.set_analysis_set(series_index, indices)

    def set_included(self, included: bool, slice_index: int | None = None) -> None:
        """Add the shown slice (or `slice_index` of the shown series) to its analysis set or remove it; nothing
        before the series has a set."""
        chosen = self._analysis_sets.get(self.series_index)
        if chosen is None:
            return
        index = self.slice_index if slice_index is None else slice_index
        (chosen.add if included else chosen.discard)(index)
        self.analysis_set_changed.emit(self.series_index)

    # ----- results -------------------------------------------------------------------------------------------------

    def slice_results(self, series_index: int | None = None) -> dict[int, SliceResult]:
        """The results of a series (default: the shown one) by slice index, in the order they arrived."""
        return dict(self._slice_results.get(self._series(series_index), {}))

    def has_results(self, series_index: int | None = None) -> bool:
        """Whether an analysis of the series has started (its results may still be empty)."""
        return self._series(series_index) in self._slice_results

    def slice_result(self, slice_index: int | None = None) -> SliceResult | None:
        """The result of a slice of the shown series (default: the shown slice)."""
        index = self.slice_index if slice_index is None else slice_index
        return self._slice_results.get(self.series_index, {}).get(index)

    def predictions(self, series_index: int | None = None) -> dict[int, SlicePrediction]:
        """The predictions of a series' decoded slices by slice index."""
        return {index: result.prediction for index, result in self.slice_results(series_index).items()
                if result.prediction is not None}

    def prediction(self, slice_index: int | None = None) -> SlicePrediction | None:
        result = self.slice_result(slice_index)
        return result.prediction if result is not None else None

    def study_result(self, series_index: int | None = None) -> StudyResult | None:
        return self._study_results.get(self._series(series_index))

    def begin_results(self, series_index: int) -> None:
        """A new analysis of the series starts: its earlier results are gone."""
        self._slice_results[series_index] = {}
        self._study_results.pop(series_index, None)
        self.results_reset.emit(series_index)

    def add_slice_result(self, series_index: int, result: SliceResult) -> None:
        self._slice_results.setdefault(series_index, {})[result.slice_index] = result
        self.slice_result_added.emit(series_index, result)

    def set_study_result(self, series_index: int, result: StudyResult | None) -> None:
        if result is None:
            self._study_results.pop(series_index, None)
        else:
            self._study_results[series_index] = result
        self.study_result_changed.emit(series_index, result)

    def restore_results(self, series_index: int, result: StudyResult) -> None:
        """A saved analysis (a reopened case) becomes the series' results, as if it had just run."""
        self._slice_results[series_index] = {slice_result.slice_index: slice_result
                                             for slice_result in result.slice_results}
        self._study_results[series_index] = result
        self.results_reset.emit(series_index)
        self.study_result_changed.emit(series_index, result)

    # ----- overlay and display options -----------------------------------------------------------------------------

    def set_overlay(self, settings: OverlaySettings) -> None:
        if settings != self.overlay:
            self.overlay = settings
            self.overlay_changed.emit(settings)

    def update_overlay(self, **changes: object) -> None:
        """Change some overlay settings, e.g. `update_overlay(visible=False)`."""
        self.set_overlay(dataclasses.replace(self.overlay, **changes))  # type: ignore[arg-type]

    def set_contrast_enhanced(self, enhanced: bool) -> None:
        if enhanced != self.display.contrast_enhanced:
            self.display = dataclasses.replace(self.display, contrast_enhanced=enhanced)
            self.display_changed.emit(self.display)

    # ----- helpers -------------------------------------------------------------------------------------------------

    def _series(self, series_index: int | None) -> int:
        return self.series_index if series_index is None else series_index


def marks(session: SessionModel) -> Mapping[int, str | None]:
    """What the slice slider marks on the shown series: chosen slices (None) and analysed ones (their class, "" for
    no class: out of distribution or unreadable)."""
    marked: dict[int, str | None] = dict.fromkeys(session.analysis_set())
    for index, result in session.slice_results().items():
        marked[index] = (result.prediction.label or "") if result.prediction is not None else ""
    return marked
