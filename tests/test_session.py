"""The session model without Qt: open a study, move through slices, choose slices, stream results, change the
overlay and display options; the state and the events it emits."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.analysis.overlay import OverlaySettings
from core.analysis.results import aggregate
from core.io.load import Window, load_study
from core.session import DisplayOptions, SessionModel, marks
from tests.analysis_doubles import ManifestDouble, prediction, slice_result
from tests.dicom_factory import write_mr_series


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("study")
    # One study, so the series are listed by number: the 12-slice series first.
    write_mr_series(root / "ax", n_slices=12, rows=32, cols=32, StudyInstanceUID="1.2.3", SeriesNumber=1)
    write_mr_series(root / "cor", n_slices=5, rows=32, cols=32, seed=1, StudyInstanceUID="1.2.3", SeriesNumber=2)
    opened = load_study(root)
    assert [len(series) for series in opened.series] == [12, 5]
    return opened


class Recorder:
    """Every signal of a session, as (name, args) in the order emitted."""

    def __init__(self, session: SessionModel) -> None:
        self.events: list[tuple[str, tuple]] = []
        for name in ("study_changed", "series_changed", "slice_changed", "window_changed", "analysis_set_changed",
                     "results_reset", "slice_result_added", "study_result_changed", "overlay_changed",
                     "display_changed"):
            getattr(session, name).connect(lambda *args, name=name: self.events.append((name, args)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def clear(self) -> None:
        self.events.clear()


def test_opening_a_study_shows_the_middle_of_its_first_series(study) -> None:
    session = SessionModel()
    events = Recorder(session)
    session.open_study(study)
    assert events.events == [("study_changed", (study,)), ("series_changed", (0,))]
    assert session.current_series is study.series[0] and session.slice_index == 6
    assert session.current_slice is study.series[0].slices[6]

    session.select_series(1)
    assert session.series_index == 1 and session.slice_index == 2
    events.clear()
    session.select_series(1)  # already shown: nothing happens
    assert events.events == []
    session.select_series(1, force=True)
    assert events.names() == ["series_changed"]


def test_an_empty_or_closed_study_shows_no_series(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    session.open_study(None)
    assert events.names() == ["study_changed", "series_changed"] and events.events[1][1] == (-1,)
    assert session.current_series is None and session.current_slice is None
    session.set_slice(3)  # nothing to move through
    assert session.slice_index == -1


def test_moving_through_slices_stays_within_the_series(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    session.step(1)
    session.set_slice(100)
    session.set_slice(100)  # already there: no event
    session.set_slice(-5)
    assert events.events == [("slice_changed", (7,)), ("slice_changed", (11,)), ("slice_changed", (0,))]


def test_each_series_keeps_its_own_window(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    narrow = Window(100.0, 50.0, "narrow")
    session.set_window(narrow)
    assert events.events == [("window_changed", (0, narrow))]
    session.select_series(1)
    assert session.window() is None and session.window(0) == narrow
    session.select_series(0)
    assert session.window() == narrow
    session.set_window(None)
    assert session.window() is None
    session.open_study(study)  # a study opened again starts from the default windows
    assert session.window(0) is None


def test_analysis_sets_are_offered_once_and_edited_per_slice(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    assert not session.has_analysis_set() and session.analysis_set() == []
    session.set_included(True)  # before a set is chosen, including does nothing
    assert events.events == []

    session.offer_analysis_set(0, [5, 6, 7])
    session.offer_analysis_set(0, [1, 2])  # the worker's choice never replaces an existing set
    assert session.analysis_set() == [5, 6, 7] and events.events == [("analysis_set_changed", (0,))]
    assert session.is_chosen() and not session.is_chosen(0)

    session.set_slice(0)
    session.set_included(True)
    session.set_included(False, 6)
    assert session.analysis_set() == [0, 5, 7]
    session.set_analysis_set(0, range(12))
    assert session.analysis_set() == list(range(12)) and session.analysis_set(1) == []


def test_results_stream_per_series_and_a_new_analysis_clears_them(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    assert not session.has_results()
    session.begin_results(0)
    assert session.has_results() and session.slice_results() == {}
    shown, other = slice_result(6, prediction([0.7, 0.1, 0.1, 0.1])), slice_result(5, None, error="unreadable")
    session.add_slice_result(0, shown)
    session.add_slice_result(0, other)
    assert session.slice_result() is shown and session.prediction() is shown.prediction
    assert set(session.predictions()) == {6} and list(session.slice_results()) == [6, 5]
    result = aggregate([shown, other], ManifestDouble())
    session.set_study_result(0, result)
    assert session.study_result() is result
    assert events.names() == ["results_reset", "slice_result_added", "slice_result_added", "study_result_changed"]
    assert events.events[1][1] == (0, shown)

    session.select_series(1)  # results belong to their series
    assert session.study_result() is None and session.slice_results() == {} and session.study_result(0) is result

    events.clear()
    session.begin_results(0)  # analysing again starts from nothing
    assert session.slice_results(0) == {} and session.study_result(0) is None
    assert events.events == [("results_reset", (0,))]


def test_a_restored_analysis_becomes_the_series_results(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    saved = aggregate([slice_result(index, prediction([0.1, 0.1, 0.7, 0.1])) for index in (4, 5, 6)],
                      ManifestDouble())
    session.restore_results(0, saved)
    assert set(session.predictions()) == {4, 5, 6} and session.study_result() is saved
    assert events.names() == ["results_reset", "study_result_changed"]


def test_slider_marks_name_chosen_and_analysed_slices(study) -> None:
    session = SessionModel()
    session.open_study(study)
    session.offer_analysis_set(0, [4, 5, 6])
    session.begin_results(0)
    session.add_slice_result(0, slice_result(5, prediction([0.7, 0.1, 0.1, 0.1])))
    session.add_slice_result(0, slice_result(6, prediction([0.7, 0.1, 0.1, 0.1], ood_reason="too dark")))
    assert marks(session) == {4: None, 5: "glioma", 6: ""}


def test_overlay_and_display_options_emit_only_real_changes(study) -> None:
    session = SessionModel()
    session.open_study(study)
    events = Recorder(session)
    session.update_overlay(visible=False)
    session.update_overlay(visible=False)
    session.set_overlay(OverlaySettings(visible=False))
    assert events.events == [("overlay_changed", (OverlaySettings(visible=False),))]
    session.set_overlay(OverlaySettings(opacity=0.7, colormap="viridis", class_index=2))
    assert session.overlay.explain(prediction([0.7, 0.1, 0.1, 0.1])).class_index == 2  # chosen over predicted

    events.clear()
    session.set_contrast_enhanced(True)
    session.set_contrast_enhanced(True)
    assert events.events == [("display_changed", (DisplayOptions(contrast_enhanced=True),))]
    session.open_study(study)  # overlay and display options are the user's, not the study's
    assert session.display.contrast_enhanced and session.overlay.class_index == 2


def test_the_session_module_imports_no_qt() -> None:
    import subprocess
    import sys

    code = "import sys, core.session; assert not any(m.startswith('PySide6') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
