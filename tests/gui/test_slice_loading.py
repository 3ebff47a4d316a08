"""Pixels are decoded off the UI thread: a slice not in the cache is shown once a worker has decoded it, a stale
result is never painted, and the neighbours of the shown slice are decoded ahead of scrolling (issue 13)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.analysis.selection import DEFAULT_SLICE_COUNT, central_slices
from core.io import types as io_types
from core.io.dicom import pixels as dicom_pixels
from core.io.load import load_study
from core.session import SessionModel
from desktop.viewer.slice_loading import PREFETCH_AHEAD, PREFETCH_BEHIND, neighbours
from desktop.viewer.slice_viewer import SliceViewer
from tests.dicom_factory import write_mr_series
from tests.gui.conftest import LOAD_TIMEOUT_MS, open_and_wait, wait_shown

BOTTOM_LEFT = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft
# write_mr_series files have no window of their own: the series' automatic window decodes the slices at 10, 30, 50,
# 70 and 90 % of the stack (core.io.types.SERIES_WINDOW_SAMPLES), which are then cached too; for 40 slices those are
# 4, 12, 20, 28 and 36. The tests below look at slices clear of them.
SLICES = 40


class DecodeSpy:
    """Wraps the DICOM decoder: records the thread of every decode, and can hold one file's decode until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[threading.Thread] = []
        self.decoded: list[Path] = []
        self.hold: Path | None = None
        self.entered, self.release = threading.Event(), threading.Event()
        original = dicom_pixels.DicomPixelSource._decode_stored_values

        def decode(source: dicom_pixels.DicomPixelSource) -> np.ndarray:
            self.threads.append(threading.current_thread())
            if source.path == self.hold:
                self.entered.set()
                assert self.release.wait(LOAD_TIMEOUT_MS / 1000)
            self.decoded.append(source.path)
            return original(source)

        monkeypatch.setattr(dicom_pixels.DicomPixelSource, "_decode_stored_values", decode)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> DecodeSpy:
    return DecodeSpy(monkeypatch)


@pytest.fixture
def viewer(qtbot) -> SliceViewer:
    shown = SliceViewer(SessionModel())
    qtbot.addWidget(shown)
    shown.resize(400, 400)
    return shown


def open_series(qtbot, viewer: SliceViewer, folder: Path) -> None:
    write_mr_series(folder, n_slices=SLICES, rows=64, cols=64)
    viewer.session.open_study(load_study(folder))  # nothing decoded yet: the middle slice is a miss
    wait_shown(qtbot, viewer)
    qtbot.waitUntil(lambda: not viewer.decoding, timeout=LOAD_TIMEOUT_MS)


def test_the_neighbours_to_prefetch_lie_ahead_in_the_scroll_direction_then_behind() -> None:
    assert (PREFETCH_AHEAD, PREFETCH_BEHIND) == (2, 1)
    assert neighbours(10, 40, 1) == [11, 12, 9]
    assert neighbours(10, 40, -1) == [9, 8, 11]
    assert neighbours(39, 40, 1) == [38] and neighbours(0, 40, 1) == [1, 2]


def test_moving_through_a_series_never_decodes_on_the_ui_thread(qtbot, make_window, spy, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=SLICES, rows=64, cols=64)
    window = make_window()
    window.three_panel_dock.show()  # it shows the viewer's image, never decodes one itself
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    viewer.setFocus()
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_End, Qt.Key.Key_Home,
                Qt.Key.Key_PageDown, Qt.Key.Key_Up):
        QTest.keyClick(viewer, key)
        wait_shown(qtbot, viewer)
        assert np.array_equal(viewer.displayed_image, viewer.current_slice.display())
    assert viewer.current_index == 3  # Home, a page of 4, one up
    qtbot.waitUntil(lambda: not viewer.decoding, timeout=LOAD_TIMEOUT_MS)
    assert len(spy.threads) > 10  # the slices visited and their neighbours, all decoded by workers
    assert threading.main_thread() not in spy.threads


def test_a_slice_not_in_the_cache_appears_when_its_worker_has_decoded_it(qtbot, viewer, spy, tmp_path) -> None:
    open_series(qtbot, viewer, tmp_path / "mr")
    before = viewer.displayed_image
    viewer.set_current_index(32)  # neither sampled for the series' window nor a neighbour of the middle

    # Until then: the image before stays on screen (no flash of black), under the new slice's number and a
    # "Loading" line, with nothing measured or blended on it.
    assert viewer.slice_loading and viewer.displayed_image is None and viewer.decode_error == ""
    assert not viewer._image_item.pixmap().isNull() and before is not None
    lines = viewer._corner_lines()[BOTTOM_LEFT]
    assert lines[:2] == ["Loading…", f"Slice 33 / {SLICES}"] and lines[2] == viewer.series.slices[32].label
    with qtbot.waitSignal(viewer.sliceShown, timeout=LOAD_TIMEOUT_MS) as shown:
        pass
    assert shown.args == [32] and not viewer.slice_loading
    assert np.array_equal(viewer.displayed_image, viewer.series.slices[32].display())
    assert "Loading…" not in viewer._corner_lines()[BOTTOM_LEFT]
    assert threading.main_thread() not in spy.threads


def test_a_decode_for_a_slice_the_user_has_left_is_not_painted(qtbot, viewer, spy, tmp_path: Path) -> None:
    open_series(qtbot, viewer, tmp_path / "mr")
    series = viewer.series
    spy.hold = series.slices[0].path
    viewer.set_current_index(0)
    qtbot.waitUntil(spy.entered.is_set, timeout=LOAD_TIMEOUT_MS)  # its worker is decoding slice 0
    shown: list[int] = []
    viewer.sliceShown.connect(shown.append)
    viewer.set_current_index(39)  # the user moves on before slice 0 arrives
    spy.release.set()
    qtbot.waitUntil(lambda: shown != [], timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not viewer.decoding, timeout=LOAD_TIMEOUT_MS)

    assert shown == [39] and viewer.current_index == 39  # slice 0's image was decoded, but never painted
    assert spy.decoded.count(series.slices[0].path) == 1
    assert np.array_equal(viewer.displayed_image, series.slices[39].display())


def test_after_a_slice_is_shown_its_neighbours_are_decoded_in_the_scroll_direction(qtbot, viewer, spy,
                                                                                   tmp_path: Path) -> None:
    open_series(qtbot, viewer, tmp_path / "mr")
    slices = viewer.series.slices
    assert [slices[index].cached_display() is not None for index in (19, 21, 22, 23)] == [True, True, True, False]

    viewer.set_current_index(25)  # scrolling down: 26 and 27 ahead, 24 behind
    wait_shown(qtbot, viewer)
    qtbot.waitUntil(lambda: not viewer.decoding, timeout=LOAD_TIMEOUT_MS)
    assert [slices[index].cached_display() is not None for index in (24, 26, 27)] == [True, True, True]
    assert slices[29].cached_display() is None  # bounded: only the nearest

    viewer.set_current_index(17)  # scrolling up: 16 and 15 ahead, 18 behind
    wait_shown(qtbot, viewer)
    qtbot.waitUntil(lambda: not viewer.decoding, timeout=LOAD_TIMEOUT_MS)
    assert [slices[index].cached_display() is not None for index in (15, 16, 18)] == [True, True, True]
    assert slices[14].cached_display() is None
    decoded = len(spy.decoded)
    viewer.set_current_index(16)  # prefetched: shown at once, no decode
    assert not viewer.slice_loading and np.array_equal(viewer.displayed_image, slices[16].display())
    qtbot.waitUntil(lambda: not viewer.decoding, timeout=LOAD_TIMEOUT_MS)
    assert threading.main_thread() not in spy.threads and len(spy.decoded) == decoded + 1  # 14, two ahead


def test_no_neighbours_are_prefetched_while_a_study_is_being_opened(qtbot, make_window, spy, tmp_path: Path) -> None:
    """The load worker decodes slices itself while it opens a study (the central slices it chooses); a second
    decoding thread then cost the UI thread. Held inside its first central slice, the load is still busy."""
    write_mr_series(tmp_path / "mr", n_slices=SLICES, rows=64, cols=64)
    series = load_study(tmp_path / "mr").series[0]
    first_central = min(slice_.index for slice_ in central_slices(series, DEFAULT_SLICE_COUNT))
    spy.hold = series.slices[first_central].path
    io_types.PIXEL_CACHE.clear()  # choosing decoded them here; the window's load worker must decode them again
    io_types.DISPLAY_CACHE.clear()
    window = make_window()
    window.open_paths([tmp_path / "mr"])
    assert spy.entered.wait(LOAD_TIMEOUT_MS / 1000)
    qtbot.waitUntil(lambda: window.viewer.series is not None, timeout=LOAD_TIMEOUT_MS)
    assert window.loading.busy

    window.viewer.set_current_index(7)  # scrolling up from the middle: 6 and 5 ahead, 8 behind
    wait_shown(qtbot, window.viewer)
    qtbot.waitUntil(lambda: not window.viewer.decoding, timeout=LOAD_TIMEOUT_MS)
    assert [window.viewer.series.slices[index].cached_display() for index in (5, 6, 8)] == [None] * 3

    spy.release.set()
    qtbot.waitUntil(lambda: not window.loading.busy, timeout=LOAD_TIMEOUT_MS)
    window.viewer.set_current_index(9)  # the study is open: prefetching again
    qtbot.waitUntil(lambda: not window.viewer.decoding, timeout=LOAD_TIMEOUT_MS)
    assert window.viewer.series.slices[10].cached_display() is not None


def test_a_slice_that_cannot_be_decoded_still_says_why(qtbot, viewer, spy, tmp_path: Path) -> None:
    open_series(qtbot, viewer, tmp_path / "mr")
    broken = viewer.series.slices[33]
    broken.path.write_bytes(broken.path.read_bytes()[:400])  # damaged after the scan
    viewer.set_current_index(33)
    with qtbot.waitSignal(viewer.sliceShown, timeout=LOAD_TIMEOUT_MS):
        pass
    assert viewer.displayed_image is None and viewer._image_item.pixmap().isNull()
    assert viewer.decode_error and not viewer.slice_loading
    assert threading.main_thread() not in spy.threads
