"""A reopened case's results go back on the slices they were made from, or are reported as not found, when the
study has changed since the case was saved (`core.cases.relink`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from core.analysis.results import SliceResult
from core.cases.relink import relink
from core.io.load import load_study
from tests.analysis_doubles import prediction
from tests.dicom_factory import write_enhanced_mr


def _pictures(folder: Path, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    for number, name in enumerate(names):
        Image.fromarray(np.full((32, 32), 40 + 20 * number, np.uint8)).save(folder / name)


def _saved(series) -> list[SliceResult]:
    return [SliceResult(slice_.label, slice_.index, None, prediction([0.7, 0.1, 0.1, 0.1]), slice_.path)
            for slice_ in series.slices]


def test_a_file_added_before_the_analysed_ones_moves_their_results_with_them(tmp_path: Path) -> None:
    _pictures(tmp_path / "study", ["b.png", "c.png"])
    saved = _saved(load_study(tmp_path / "study").series[0])
    _pictures(tmp_path / "added", ["a.png"])
    shutil.copy(tmp_path / "added" / "a.png", tmp_path / "study" / "a.png")  # sorts first: positions shift by one
    series = load_study(tmp_path / "study").series[0]
    relinked = relink(saved, series)
    assert relinked.not_found == []
    assert [(result.slice_index, series.slices[result.slice_index].path.name) for result in relinked.placed] == [
        (1, "b.png"), (2, "c.png")]


def test_results_whose_file_is_gone_or_unrecorded_are_not_placed(tmp_path: Path) -> None:
    _pictures(tmp_path / "study", ["a.png", "b.png", "c.png"])
    saved = _saved(load_study(tmp_path / "study").series[0])
    (tmp_path / "study" / "b.png").unlink()
    saved[2].source_path = None  # an anonymised case records no paths
    relinked = relink(saved, load_study(tmp_path / "study").series[0])
    assert [result.slice_label for result in relinked.placed] == ["a.png"]
    assert [result.slice_label for result in relinked.not_found] == ["b.png", "c.png"]


def test_frames_of_one_file_stay_where_they_were(tmp_path: Path) -> None:
    write_enhanced_mr(tmp_path / "enhanced.dcm", n_frames=6, rows=32, cols=32)
    series = load_study(tmp_path / "enhanced.dcm").series[0]
    saved = _saved(series)[2:4]
    relinked = relink(saved, series)
    assert [result.slice_index for result in relinked.placed] == [2, 3] and relinked.not_found == []
    moved = [SliceResult(r.slice_label, 10, None, r.prediction, r.source_path) for r in saved[:1]]
    assert relink(moved, series).not_found == moved  # no frame 11: the file is there, its frame is not
