"""The probability profile takes streamed results one slice at a time: a result changes and repaints only its own
slice, whatever the series' length (rebuilding the whole profile per result was O(n²) over a series; issue 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from core.analysis.profile import SliceState, probability_profile, slice_entry
from desktop.viewer import navigator as navigator_module
from desktop.viewer.profile_view import ProfileView
from tests.analysis_doubles import prediction, slice_result
from tests.dicom_factory import write_mr_series
from tests.gui.conftest import open_and_wait, wait_for_analysis_set
from tests.gui.test_all_slices_and_profile import run_to_the_end

pytest_plugins = ["tests.model_fixtures"]

LONG_SERIES = 300
# A slice's own items reach its neighbours (curve segments); a repaint around it covers a handful of slices.
MOST_SLICES_PER_UPDATE = 10


def streamed_results(count: int, seed: int = 0) -> list:
    """Results for every slice of a `count`-slice series in a shuffled order: mostly counted, some out of
    distribution, some unreadable."""
    rng = np.random.default_rng(seed)
    results = []
    for index in rng.permutation(count):
        kind = index % 11
        if kind == 3:
            results.append(slice_result(int(index), prediction([0.4, 0.2, 0.2, 0.2], ood_reason="blank image")))
        elif kind == 7:
            results.append(slice_result(int(index), None, error="truncated file"))
        else:
            results.append(slice_result(int(index), prediction(rng.dirichlet(np.ones(4)))))
    return results


def backing_store(view: ProfileView) -> QImage:
    """What the window shows now: the pixels its partial repaints left, not a fresh render."""
    shot = QApplication.primaryScreen().grabWindow(view.winId())
    return shot.toImage().convertToFormat(QImage.Format.Format_RGB32)


def assert_same_profile(shown, expected) -> None:
    assert shown.states == expected.states
    np.testing.assert_array_equal(shown.probabilities, expected.probabilities)  # NaN where no value


@pytest.fixture
def long_profile_view(qtbot) -> ProfileView:
    view = ProfileView(lambda: (8.0, view.width() - 8.0))
    qtbot.addWidget(view)
    view.resize(1200, view.height())
    view.show()
    qtbot.waitExposed(view)
    view.set_profile(probability_profile([], LONG_SERIES, 4))  # an analysis of the whole series has started
    qtbot.waitUntil(lambda: view.painted_slices >= LONG_SERIES)  # that paints every slice once
    return view


def test_each_streamed_result_repaints_only_its_own_slice_and_the_profile_ends_complete(
        qtbot, long_profile_view: ProfileView) -> None:
    view = long_profile_view
    results = streamed_results(LONG_SERIES)
    for done, result in enumerate(results, start=1):
        painted_before = view.painted_slices
        assert view.set_slice(result.slice_index, *slice_entry(result))
        QApplication.processEvents()  # the repaint it asked for
        assert 0 < view.painted_slices - painted_before <= MOST_SLICES_PER_UPDATE
        if done in (1, 150, LONG_SERIES):
            assert_same_profile(view.profile(), probability_profile(results[:done], LONG_SERIES, 4))

    assert view.profile().analysed == list(range(LONG_SERIES))
    assert view.profile().indices(SliceState.UNREADABLE) == list(range(7, LONG_SERIES, 11))
    # The pixels left by the partial repaints are those of painting the finished profile in one go.
    fresh = ProfileView(lambda: (8.0, fresh.width() - 8.0))
    qtbot.addWidget(fresh)
    fresh.resize(view.size())
    fresh.set_profile(probability_profile(results, LONG_SERIES, 4))
    expected = fresh.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert backing_store(view) == expected


def test_a_result_outside_the_profile_is_refused(qtbot, long_profile_view: ProfileView) -> None:
    result = slice_result(LONG_SERIES, prediction([0.7, 0.1, 0.1, 0.1]))
    assert not long_profile_view.set_slice(result.slice_index, *slice_entry(result))
    empty = ProfileView(lambda: (0.0, 100.0))
    qtbot.addWidget(empty)
    assert not empty.set_slice(0, *slice_entry(slice_result(0, prediction([0.7, 0.1, 0.1, 0.1]))))
    assert empty.profile() is None


def test_moving_the_current_slice_repaints_only_the_old_and_new_marker(qtbot,
                                                                       long_profile_view: ProfileView) -> None:
    view = long_profile_view
    for index in (10, 11, 250):
        painted_before = view.painted_slices
        view.set_current(index)
        QApplication.processEvents()
        assert 0 < view.painted_slices - painted_before <= 2 * MOST_SLICES_PER_UPDATE


def test_the_window_feeds_streamed_results_to_the_profile_without_rebuilding_it(
        qtbot, tiny_window, tmp_path: Path, monkeypatch) -> None:
    write_mr_series(tmp_path / "mr", n_slices=20, rows=64, cols=64)
    window = tiny_window
    open_and_wait(qtbot, window, tmp_path / "mr")
    wait_for_analysis_set(qtbot, window)
    rebuilt: list[int] = []
    original = navigator_module.probability_profile

    def counting(results, series_length, class_count):
        rebuilt.append(series_length)
        return original(results, series_length, class_count)

    monkeypatch.setattr(navigator_module, "probability_profile", counting)
    streamed = []
    window.sliceAnalysed.connect(streamed.append)

    run_to_the_end(qtbot, window, window.analyse_all_action)

    assert len(streamed) == 20
    assert rebuilt == [20]  # once, the empty profile when the analysis started; never per result
    assert_same_profile(window.navigator.profile.profile(), original(streamed, 20, 4))
