"""core.analysis.pipeline: the one path from files to a study result (open_study, select_slices, analyse_series)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from core.analysis.pipeline import analyse_series, collect, open_study, series_to_open
from core.analysis.results import ANALYSIS_BATCH
from core.analysis.selection import DEFAULT_SLICE_COUNT, SlicePolicy, SliceSelection, select_slices
from core.errors import NotAnalysableError
from core.io.load import SeriesInfo
from tests.analysis_doubles import ClassifierDouble, SliceDouble, head_phantom, prediction
from tests.dicom_factory import write_mr_series

GLIOMA, MENINGIOMA, NO_TUMOUR = [0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1]


@dataclass
class SeriesDouble:
    slices: list[SliceDouble]
    info: SeriesInfo = field(default_factory=lambda: SeriesInfo(modality="MR"))

    def __len__(self) -> int:
        return len(self.slices)


def _series(count: int, unreadable: tuple[int, ...] = ()) -> SeriesDouble:
    return SeriesDouble([SliceDouble(i, None if i in unreadable else head_phantom(32)) for i in range(count)])


def test_results_stream_in_order_and_the_study_result_is_returned() -> None:
    series = _series(ANALYSIS_BATCH + 3)  # the analysed slices 1.. fill one batch and part of a second
    analysed = range(1, len(series))
    classifier = ClassifierDouble([prediction(MENINGIOMA if index == 3 else GLIOMA) for index in analysed])
    analysis = analyse_series(series, classifier, series.slices[1:])
    first = next(analysis)
    assert first.slice_index == 1 and classifier.batch_sizes == [ANALYSIS_BATCH]  # streamed before the next batch
    streamed, study = collect(analysis)
    assert [first.slice_index] + [r.slice_index for r in streamed] == list(analysed)
    assert study is not None and study.verdict_label == "glioma"
    assert [r.slice_index for r in study.slice_results] == list(analysed)
    assert study.series_length == len(series) and study.series_info is series.info
    assert [r.slice_index for r in study.disagreeing_results] == [3]


def test_an_unreadable_slice_is_reported_in_its_place_and_the_analysis_goes_on() -> None:
    series = _series(3, unreadable=(1,))
    streamed, study = collect(analyse_series(series, ClassifierDouble([prediction(GLIOMA)] * 2), series.slices))
    assert [r.slice_index for r in streamed] == [0, 1, 2]
    assert streamed[1].prediction is None and streamed[1].error == "pixel data is truncated"
    assert study is not None and [r.slice_index for r in study.failed_results] == [1]
    assert len(study.counted_results) == 2


def test_slices_found_unreadable_while_choosing_come_first_and_the_result_is_in_stack_order() -> None:
    series = _series(4)
    selection = SliceSelection([series.slices[0], series.slices[2]], [(series.slices[3], "truncated")])
    streamed, study = collect(analyse_series(series, ClassifierDouble([prediction(GLIOMA)] * 2), selection))
    assert [r.slice_index for r in streamed] == [3, 0, 2]
    assert streamed[0].error == "truncated" and streamed[0].prediction is None
    assert study is not None and [r.slice_index for r in study.slice_results] == [0, 2, 3]


def test_cancel_stops_between_batches_and_returns_no_study_result() -> None:
    series = _series(2 * ANALYSIS_BATCH)
    classifier = ClassifierDouble([prediction(GLIOMA)] * len(series))
    cancel = False
    analysis = analyse_series(series, classifier, series.slices, should_cancel=lambda: cancel)
    assert next(analysis).slice_index == 0
    cancel = True  # while the first batch's other results are still to come: they are not reported
    streamed, study = collect(analysis)
    assert streamed == [] and study is None
    assert classifier.batch_sizes == [ANALYSIS_BATCH]


def test_a_series_of_another_modality_is_refused_before_the_model_runs() -> None:
    series = _series(2)
    series.info = SeriesInfo(modality="CT")
    classifier = ClassifierDouble([])
    with pytest.raises(NotAnalysableError, match="modality CT is not MR"):
        next(analyse_series(series, classifier, series.slices))
    assert classifier.batch_sizes == []


def test_the_slice_policy_chooses_central_all_or_the_users_slices(tmp_path: Path) -> None:
    series = open_study(write_mr_series(tmp_path / "mr", n_slices=30, rows=32, cols=32)).series[0]
    assert SlicePolicy() == SlicePolicy.central(DEFAULT_SLICE_COUNT)
    central = select_slices(series, SlicePolicy.central(5)).chosen
    assert [s.index for s in central] == [12, 13, 14, 15, 16]
    assert select_slices(series, SlicePolicy.every_slice()).chosen == series.slices
    chosen = select_slices(series, SlicePolicy.explicit([7, 3, 3, 99])).chosen
    assert [s.index for s in chosen] == [3, 7]


def test_open_study_registers_the_patient_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import logging_setup

    registered = []
    monkeypatch.setattr(logging_setup, "register_study_phi", registered.append)
    study = open_study(write_mr_series(tmp_path / "mr", n_slices=4, rows=32, cols=32))
    assert registered == [study]


def test_open_study_makes_the_log_redact_the_patient(tmp_path: Path) -> None:
    from core.logging_setup import REDACTED, clear_phi, redact

    clear_phi()
    try:
        open_study(write_mr_series(tmp_path / "mr", n_slices=2, rows=32, cols=32))
        assert redact("patient PHANTOM-001") == f"patient {REDACTED}"
    finally:
        clear_phi()


def test_the_real_loader_and_shipped_model_end_to_end(shipped_classifier) -> None:
    from core.paths import sample_study_dir

    series = open_study(sample_study_dir()).series[0]
    streamed, study = collect(analyse_series(series, shipped_classifier,
                                             select_slices(series, SlicePolicy.central(3))))
    assert len(streamed) == 3 and all(r.prediction is not None for r in streamed)
    assert study is not None and study.verdict_label == "glioma" and study.series_length == len(series)
    assert np.isclose(float(np.sum(study.probabilities)), 1.0, atol=1e-3)


pytest_plugins = ["tests.model_fixtures"]


@dataclass
class _Listed:
    """A study's series as `series_to_open` sees it: its header fields."""

    info: SeriesInfo


@pytest.mark.parametrize(("listed", "opened"), [
    ([("MR", "AX T2 FLAIR"), ("MR", "AX T1 MPRAGE POST GAD")], 1),  # the validated sequence, though listed second
    ([("CT", "HEAD"), ("MR", "AX T2")], 1),  # else the first the model may classify
    ([("MR", "AX T2"), ("MR", "COR T1")], 0),
    ([("CT", "HEAD")], 0),
    ([("", "")], 0),  # pictures
    ([], -1),
])
def test_a_study_opens_on_the_series_the_model_was_validated_on(listed, opened) -> None:
    series = [_Listed(SeriesInfo(modality=modality, series_description=description))
              for modality, description in listed]
    assert series_to_open(series) == opened
