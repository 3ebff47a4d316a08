"""core.output.codec: the one StudyResult ↔ dict (+ CAM arrays) encoding, shared by the case store and the JSON export.

The encoding is case.json's: cases saved by earlier versions must keep opening, so the dict written today is pinned
here key for key (`CASE_RESULT`, written by the store's encoder before it moved to the codec), and case folders in
today's and an older format are reopened through the store.
"""

from __future__ import annotations

import copy
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from core.analysis.overlay import OverlaySettings
from core.analysis.results import AGGREGATION_RULE, aggregate
from core.cases.store import CaseStore
from core.io.load import SeriesInfo
from core.output.codec import decode_study_result, encode_study_result, json_bytes, json_float
from tests.analysis_doubles import ManifestDouble, prediction, slice_result

_INFO = {"patient_name": "Doe^Jane", "patient_id": "", "patient_birth_date": "", "patient_sex": "", "study_date": "",
         "study_time": "", "accession_number": "", "study_description": "", "series_description": "",
         "modality": "MR", "orientation": "", "manufacturer": "", "study_instance_uid": "", "series_instance_uid": "",
         "series_number": "", "pixel_spacing": [0.5, 0.5], "slice_thickness": 5.0, "slice_spacing": None,
         "contrast_agent_recorded": False, "repetition_time": None, "echo_time": None, "inversion_time": None}
CASE_RESULT = {
    "series_info": _INFO,
    "slice_results": [
        {"slice_label": "Se 6 Im 1, S 12.5 mm", "named_by_file": False, "slice_index": 0,
         "source_path": "/data/slice_000.dcm", "error": "", "orientation": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
         "prediction": {"probabilities": [0.7, 0.1, 0.1, 0.1], "label": "glioma", "ood_reason": "", "ood_score": 1.0,
                        "cams": "cams_000"}},
        {"slice_label": "slice_001.dcm", "named_by_file": True, "slice_index": 1, "source_path": "/data/slice_001.dcm",
         "error": "", "orientation": None,
         "prediction": {"probabilities": [0.25, 0.25, 0.25, 0.25], "label": None, "ood_reason": "blank image",
                        "ood_score": None, "cams": "cams_001"}},
        {"slice_label": "slice_002.dcm", "named_by_file": True, "slice_index": 2, "source_path": "/data/slice_002.dcm",
         "error": "pixel data is truncated", "orientation": None, "prediction": None},
    ],
    "verdict_label": "glioma",
    "probabilities": [0.7, 0.1, 0.1, 0.1],
    "rule": AGGREGATION_RULE,
    "model_name": "xception-brainmri",
    "model_version": "1.2.0",
    "weights_sha256": "ab12cd34" * 8,
    "classes": ["glioma", "meningioma", "notumor", "pituitary"],
    "series_length": 20,
}


def _result():
    out_of_distribution = prediction([0.25, 0.25, 0.25, 0.25], ood_reason="blank image")
    out_of_distribution.ood_score = math.nan  # no feature statistics: an undefined score
    results = [slice_result(0, prediction([0.7, 0.1, 0.1, 0.1])), slice_result(1, out_of_distribution),
               slice_result(2, None, error="pixel data is truncated")]
    results[0].named_by_file, results[0].slice_label = False, "Se 6 Im 1, S 12.5 mm"
    results[0].orientation = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # axial
    info = SeriesInfo(patient_name="Doe^Jane", modality="MR", pixel_spacing=(0.5, 0.5), slice_thickness=5.0)
    return aggregate(results, ManifestDouble(), series_info=info, series_length=20)


def test_the_encoding_is_the_case_format_key_for_key() -> None:
    encoded, cams = encode_study_result(_result())
    assert json.loads(json_bytes(encoded)) == CASE_RESULT
    assert list(cams) == ["cams_000", "cams_001"] and cams["cams_000"].shape == (4, 8, 8)


def test_decoding_gives_back_the_result() -> None:
    original = _result()
    encoded, cams = encode_study_result(original)
    decoded = decode_study_result(json.loads(json_bytes(encoded)), cams, [None] * 3)
    assert decoded.series_info == original.series_info and decoded.series_length == 20
    assert decoded.verdict_label == "glioma" and decoded.classes == original.classes
    np.testing.assert_allclose(decoded.probabilities, original.probabilities, rtol=1e-6)
    first, second, third = decoded.slice_results
    assert first.slice_label == "Se 6 Im 1, S 12.5 mm" and not first.named_by_file
    assert first.orientation == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0) and second.orientation is None
    np.testing.assert_array_equal(first.prediction.cams, original.slice_results[0].prediction.cams)
    assert second.prediction.label is None and math.isnan(second.prediction.ood_score)
    assert third.prediction is None and third.error == "pixel data is truncated"


@pytest.mark.parametrize("value, expected", [(1.5, 1.5), (math.nan, None), (math.inf, None), (None, None)])
def test_json_float_turns_what_json_cannot_hold_into_null(value, expected) -> None:
    assert json_float(value) == expected


def _older(document: dict) -> dict:
    """The case.json of a version from before slices had DICOM names and orientations and the series length was
    recorded."""
    older = copy.deepcopy(document)
    del older["series_length"]
    for entry in older["slice_results"]:
        del entry["named_by_file"], entry["orientation"]
    return older


@pytest.mark.parametrize("age", ["current", "older"])
def test_case_folders_written_in_the_existing_formats_reopen(tmp_path: Path, age: str) -> None:
    store = CaseStore(tmp_path / "data", clock=lambda: datetime(2025, 1, 2, 9, 30, tzinfo=timezone.utc))
    record = store.save("Follow-up", _result(), "/data", OverlaySettings())
    document = {  # case.json as the current release writes it, with the result pinned above
        "format": "brainmri-case", "format_version": 1, "name": "Follow-up", "created_at": "2025-01-02T09:30:00+00:00",
        "anonymised": False,
        "study": {"source_path": "/data", "study_instance_uid": "", "series_instance_uid": ""},
        "overlay_settings": {"visible": True, "opacity": 0.3, "threshold": 0.25, "colormap": "inferno",
                             "class_index": 1},
        "slice_images": [None, None, None],
        "study_result": CASE_RESULT if age == "current" else _older(CASE_RESULT),
    }
    (record.folder / "case.json").write_bytes(json_bytes(document))
    cams = {"cams_000": np.full((4, 8, 8), 0.5, np.float32), "cams_001": np.zeros((4, 8, 8), np.float32)}
    np.savez_compressed(record.folder / "cams.npz", **cams)
    case = store.get(record.case_id)
    result = case.study_result
    assert case.overlay_settings == OverlaySettings(opacity=0.3, threshold=0.25, colormap="inferno", class_index=1)
    assert [r.slice_index for r in result.counted_results] == [0]
    assert result.slice_results[0].named_by_file is (age == "older")
    assert (result.slice_results[0].orientation is None) is (age == "older")
    assert result.series_length == (20 if age == "current" else None)
    np.testing.assert_array_equal(result.slice_results[0].prediction.cams, cams["cams_000"])
    assert result.series_info.pixel_spacing == (0.5, 0.5) and result.verdict_label == "glioma"


def test_a_file_name_that_is_not_utf8_survives_json() -> None:
    """A Latin-1 file name from an old CD made JSON exports and case saving fail (UnicodeEncodeError)."""
    import os

    name = os.fsdecode(b"M\xfcller_T1.jpg")  # lone surrogate, as os.listdir gives it
    text = json_bytes({"file": name, "patient": "Müller"})
    assert json.loads(text)["file"] == name and os.fsencode(json.loads(text)["file"]) == b"M\xfcller_T1.jpg"
    assert json_bytes({"patient": "Müller"}).decode("utf-8") == '{\n  "patient": "Müller"\n}'  # readable otherwise


def test_a_case_saved_before_a_series_field_was_added_still_opens() -> None:
    """Cases keep version 1: a field added to SeriesInfo later (study time, accession number) is simply absent from
    an older case and takes its default."""
    older = copy.deepcopy(CASE_RESULT)
    del older["series_info"]["study_time"], older["series_info"]["accession_number"]
    decoded = decode_study_result(older, encode_study_result(_result())[1], [None] * 3)
    assert decoded.series_info is not None and decoded.series_info.accession_number == ""
