"""JSON export schema and the DICOM Secondary Capture of an overlay."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from core.analysis.overlay import OverlaySettings
from core.analysis.results import aggregate
from core.errors import ReportWriteError
from core.io.load import SkippedFile, load_study
from core.output.burned_in import annotated, captioned
from core.output.export import (
    SECONDARY_CAPTURE_SOP_CLASS,
    StudyExport,
    json_document,
    write_json,
    write_secondary_capture,
)
from core.output.report import patient_rows
from core.output.wording import counted_words, verdict_cautions, verdict_text
from core.viewing.orientation import edge_labels
from tests.analysis_doubles import ManifestDouble, prediction, slice_result
from tests.dicom_factory import write_mr_series

TOP_KEYS = {"schema_version", "application", "generated_at", "anonymised", "model", "studies"}
STUDY_KEYS = {"source", "skipped_files", "series", "refused_series"}
SERIES_KEYS = {"metadata", "slices", "result"}
METADATA_KEYS = {"patient_name", "patient_id", "patient_birth_date", "patient_sex", "study_date", "study_time",
                 "accession_number", "study_description",
                 "series_description", "modality", "orientation", "manufacturer", "study_instance_uid",
                 "series_instance_uid", "series_number", "pixel_spacing", "slice_thickness", "slice_spacing",
                 "contrast_agent_recorded", "repetition_time", "echo_time", "inversion_time"}
SLICE_KEYS = {"file", "index", "label", "probabilities", "predicted_class", "ood_reason", "ood_score", "error",
              "attention"}
ATTENTION_KEYS = {"class", "image_region", "patient_side", "peak_row", "peak_col", "description"}
RESULT_KEYS = {"verdict", "verdict_display_name", "probabilities", "rule", "analysed_slices", "counted_slices",
               "slices_disagree", "disagreeing_slices", "cautions", "notes", "sequence"}
# Identifying values of the synthetic series: patient, study, and free text naming a member of staff.
IDENTIFYING = {"PatientName": "DOE^JANE", "PatientID": "ID-0042", "PatientBirthDate": "19700101", "PatientSex": "F",
               "StudyDate": "20240210", "StudyTime": "101500", "AccessionNumber": "ACC-777",
               "ReferringPhysicianName": "HOUSE^GREGORY", "StudyID": "STUDY-9",
               "StudyDescription": "MR brain, booked by Dr Smithers", "SeriesDescription": "T1 post, Nurse Ratched"}


@pytest.fixture(scope="module")
def dicom_series(tmp_path_factory: pytest.TempPathFactory):
    """A real synthetic MR series loaded by the real loader."""
    folder = tmp_path_factory.mktemp("mr")
    write_mr_series(folder, n_slices=5, rows=64, cols=64, **IDENTIFYING)
    study = load_study(folder)
    assert len(study.series) == 1
    return study.series[0]


def _study_from(series, ood_for: int | None = None):
    results = []
    for slice_ in series.slices[:3]:
        row = [0.1, 0.7, 0.1, 0.1] if slice_.index != 1 else [0.6, 0.2, 0.1, 0.1]
        pred = prediction(row, ood_reason="blank image" if slice_.index == ood_for else "")
        result = slice_result(slice_.index, pred)
        result.slice_label, result.source_path, result.display = slice_.label, slice_.path, slice_.display()
        result.orientation = slice_.orientation
        results.append(result)
    return aggregate(results, ManifestDouble(), series_info=series.info)


def _document(series, anonymise: bool = False, results: int = 1) -> dict:
    export = StudyExport(Path("/data/DOE_JANE"), [_study_from(series, ood_for=2) for _ in range(results)],
                         [SkippedFile(Path("/data/DOE_JANE/notes.txt"), "not an image")])
    return json.loads(json.dumps(json_document([export], ManifestDouble(), anonymise=anonymise), allow_nan=False))


def test_json_key_sets_are_stable(dicom_series) -> None:
    document = _document(dicom_series)
    assert set(document) == TOP_KEYS and document["schema_version"] == 1
    assert set(document["application"]) == {"name", "version"}
    assert set(document["model"]) == {"name", "version", "weights_sha256", "classes"}
    study = document["studies"][0]
    assert set(study) == STUDY_KEYS
    assert study["skipped_files"] == [{"file": "/data/DOE_JANE/notes.txt", "reason": "not an image"}]
    series = study["series"][0]
    assert set(series) == SERIES_KEYS
    assert set(series["metadata"]) == METADATA_KEYS
    assert set(series["result"]) == RESULT_KEYS
    assert all(set(entry) == SLICE_KEYS for entry in series["slices"])
    assert set(series["slices"][0]["attention"]) == ATTENTION_KEYS


def test_json_values(dicom_series) -> None:
    series = _document(dicom_series)["studies"][0]["series"][0]
    assert series["metadata"]["patient_name"] == "DOE, JANE"  # as the loader formats it
    first, _, out_of_distribution = series["slices"]
    assert first["probabilities"] == pytest.approx({"glioma": 0.1, "meningioma": 0.7, "notumor": 0.1,
                                                    "pituitary": 0.1})
    assert first["predicted_class"] == "meningioma" and first["file"].endswith(".dcm")
    assert out_of_distribution["predicted_class"] is None and out_of_distribution["probabilities"] is None
    assert out_of_distribution["ood_reason"] == "blank image" and out_of_distribution["attention"] is None
    assert series["result"]["verdict"] == "meningioma"
    assert series["result"]["counted_slices"] == 2 and series["result"]["slices_disagree"] is True


def test_the_json_names_the_examination_as_ris_and_pacs_do(dicom_series) -> None:
    """Reports are matched to the RIS and PACS by accession number; the study time tells two studies of a day apart."""
    metadata = _document(dicom_series)["studies"][0]["series"][0]["metadata"]
    assert (metadata["accession_number"], metadata["study_date"], metadata["study_time"]) == (
        "ACC-777", "2024-02-10", "10:15")
    rows = dict(patient_rows(dicom_series.info, anonymise=False))
    assert rows["Accession no."] == "ACC-777" and rows["Study date"] == "2024-02-10 10:15"
    anonymised = dict(patient_rows(dicom_series.info, anonymise=True))
    assert anonymised["Accession no."] == anonymised["Study date"] == "removed (anonymised)"


def test_anonymised_json_follows_the_basic_confidentiality_profile(dicom_series) -> None:
    document = _document(dicom_series, anonymise=True, results=2)
    text = json.dumps(document)
    # (the study time is checked as a field below: "10:15" can be in the export's own timestamp)
    for identifier in ("DOE", "JANE", "ID-0042", "1970-01-01", "19700101", "2024-02-10", "ACC-777",
                       "Smithers", "Ratched",
                       "/data/", ".dcm", dicom_series.info.study_instance_uid, dicom_series.info.series_instance_uid):
        assert identifier not in text, identifier
    assert document["anonymised"] is True
    first, second = (series["metadata"] for series in document["studies"][0]["series"])
    for field in ("patient_name", "patient_id", "patient_birth_date", "patient_sex", "study_date", "study_time",
                  "accession_number", "study_description", "series_description"):
        assert first[field] is None, field
    assert first["study_instance_uid"].startswith("2.25.") and first["series_instance_uid"].startswith("2.25.")
    assert (second["study_instance_uid"], second["series_instance_uid"]) == (first["study_instance_uid"],
                                                                             first["series_instance_uid"])
    kept = {field: first[field] for field in ("modality", "series_number", "manufacturer", "pixel_spacing")}
    assert kept == {"modality": "MR", "series_number": "3", "manufacturer": "Synthetic", "pixel_spacing": [0.9, 0.9]}
    again = _document(dicom_series, anonymise=True)["studies"][0]["series"][0]["metadata"]
    assert again["study_instance_uid"] != first["study_instance_uid"]  # a new export, new UIDs


def test_nan_ood_score_becomes_null(dicom_series, tmp_path: Path) -> None:
    study = _study_from(dicom_series)
    study.slice_results[0].prediction.ood_score = float("nan")
    write_json(tmp_path / "out.json", [StudyExport(Path("/x"), [study], [])], ManifestDouble())
    document = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert document["studies"][0]["series"][0]["slices"][0]["ood_score"] is None


def test_json_write_failure_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ReportWriteError):
        write_json(tmp_path / "missing" / "out.json", [], ManifestDouble())
    assert list(tmp_path.iterdir()) == []


def test_secondary_capture_is_linked_to_the_source_study(dicom_series, tmp_path: Path) -> None:
    study = _study_from(dicom_series)
    result = study.slice_results[0]
    path = tmp_path / "overlay.dcm"
    write_secondary_capture(path, result, study, OverlaySettings(colormap="inferno"))
    written = pydicom.dcmread(path)
    source = pydicom.dcmread(result.source_path)
    assert written.SOPClassUID == SECONDARY_CAPTURE_SOP_CLASS == written.file_meta.MediaStorageSOPClassUID
    assert written.StudyInstanceUID == source.StudyInstanceUID
    assert written.SeriesInstanceUID != source.SeriesInstanceUID
    assert written.SOPInstanceUID != source.SOPInstanceUID
    assert written.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert (written.PatientName, written.PatientID, written.PatientBirthDate) == ("DOE^JANE", "ID-0042", "19700101")
    assert written.StudyDescription == IDENTIFYING["StudyDescription"] and "PatientIdentityRemoved" not in written
    assert written.BurnedInAnnotation == "YES" and "decision support" in written.DerivationDescription
    pixels = written.pixel_array
    assert written.PhotometricInterpretation == "RGB"
    # the 64-pixel slice enlarged 8 times, so that the burned-in caption can be read in a PACS
    assert pixels.shape == (written.Rows, written.Columns, 3) and pixels.shape[1] == 512 and pixels.shape[0] > 512
    assert pixels.dtype == np.uint8


def test_secondary_capture_states_and_shows_the_patient_orientation(dicom_series, tmp_path: Path) -> None:
    study = _study_from(dicom_series)
    result = study.slice_results[0]
    write_secondary_capture(tmp_path / "axial.dcm", result, study, OverlaySettings())
    assert list(pydicom.dcmread(tmp_path / "axial.dcm").PatientOrientation) == ["L", "P"]  # rows, columns
    result.orientation = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)  # coronal: columns run to the feet, "F" in DICOM's letters
    write_secondary_capture(tmp_path / "coronal.dcm", result, study, OverlaySettings())
    assert list(pydicom.dcmread(tmp_path / "coronal.dcm").PatientOrientation) == ["L", "F"]
    result.orientation = None
    write_secondary_capture(tmp_path / "unknown.dcm", result, study, OverlaySettings())
    assert not pydicom.dcmread(tmp_path / "unknown.dcm").PatientOrientation


def test_the_secondary_capture_carries_the_study_result_and_its_cautions(dicom_series, tmp_path: Path,
                                                                        monkeypatch) -> None:
    """The image that goes into the PACS said only 'Grad-CAM Glioma >99%': no study result, no 'not validated on
    FLAIR', no 'weak evidence' for a map of an unlikely class."""
    from core.output import export

    burned: list[list[str]] = []
    monkeypatch.setattr(export, "captioned", lambda image, lines: burned.append(list(lines)) or captioned(image, lines))
    study = _study_from(dicom_series)  # series description 'T1 post, Nurse Ratched': not known to be contrast T1
    cautions = verdict_cautions(study)
    assert cautions  # the sequence's, at least
    shown = dataclasses.replace(study.slice_results[0], prediction=prediction([0.97, 0.01, 0.01, 0.01]))
    write_secondary_capture(tmp_path / "sc.dcm", shown, study, OverlaySettings(class_index=3))
    (lines,) = burned
    assert "Grad-CAM Pituitary tumour 1%, weak evidence - decision support" in lines[0]
    assert lines[1:] == [f"Study result: {verdict_text(study)} ({counted_words(study)})", *cautions]
    written = pydicom.dcmread(tmp_path / "sc.dcm")
    assert f"Study result: {verdict_text(study)}." in written.ImageComments
    assert all(caution in written.ImageComments for caution in cautions)
    assert written.Columns == 512 and written.Rows > 512  # enlarged, a caption band underneath


def _bright_pixels(image: np.ndarray) -> np.ndarray:
    return image.max(axis=2) > 200


def test_burned_in_letters_sit_at_the_edges_and_the_scale_bar_bottom_right() -> None:
    black = np.zeros((256, 256, 3), np.uint8)
    axial = edge_labels((1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    drawn = _bright_pixels(annotated(black, axial, mm_per_pixel=0.9))
    for name, (rows, cols) in {"R": (slice(110, 146), slice(0, 20)), "L": (slice(110, 146), slice(236, 256)),
                               "A": (slice(0, 20), slice(110, 146)), "P": (slice(236, 256), slice(110, 146)),
                               "bar": (slice(240, 256), slice(180, 256))}.items():
        assert drawn[rows, cols].any(), name
    assert not drawn[40:216, 40:216].any()  # the image itself is left alone
    assert not _bright_pixels(annotated(black, None, None)).any()  # a picture: nothing is guessed


def test_anonymised_secondary_capture_follows_the_basic_confidentiality_profile(dicom_series,
                                                                                 tmp_path: Path) -> None:
    study = _study_from(dicom_series)
    result = study.slice_results[0]
    path = tmp_path / "overlay.dcm"
    write_secondary_capture(path, result, study, OverlaySettings(), anonymise=True)
    source = pydicom.dcmread(result.source_path)
    file_bytes = path.read_bytes()
    for value in [value for key, value in IDENTIFYING.items() if key != "PatientSex"] + [
            "DOE", "Smithers", "Ratched", source.StudyInstanceUID, source.SeriesInstanceUID, source.SOPInstanceUID]:
        assert value.encode() not in file_bytes, value
    written = pydicom.dcmread(path)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                    "AccessionNumber", "ReferringPhysicianName", "StudyID", "ContentDate", "ContentTime"):
        assert str(written[keyword].value or "") == "", keyword
    for keyword in ("StudyDescription", "SeriesDescription", "DerivationDescription", "SourceImageSequence"):
        assert keyword not in written, keyword
    assert written.ImageComments.startswith("Decision-support overlay")  # the application's words: the cautions stay
    assert written.StudyInstanceUID.startswith("2.25.") and written.SeriesInstanceUID.startswith("2.25.")
    assert written.file_meta.MediaStorageSOPInstanceUID == written.SOPInstanceUID
    assert written.PatientIdentityRemoved == "YES"
    assert written.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert written.Modality == "OT" and written.pixel_array.shape[2] == 3


def test_secondary_capture_from_a_picture_file_gets_a_new_study(tmp_path: Path) -> None:
    study = aggregate([slice_result(0, prediction([0.7, 0.1, 0.1, 0.1]))], ManifestDouble())
    path = tmp_path / "overlay.dcm"
    write_secondary_capture(path, study.slice_results[0], study, OverlaySettings())
    written = pydicom.dcmread(path)
    assert written.StudyInstanceUID and "SourceImageSequence" not in written
    assert written.pixel_array.shape[2] == 3


def test_out_of_distribution_slice_has_no_overlay_to_export(tmp_path: Path) -> None:
    study = aggregate([slice_result(0, prediction([0.7, 0.1, 0.1, 0.1], ood_reason="blank"))], ManifestDouble())
    with pytest.raises(ValueError, match="in-distribution"):
        write_secondary_capture(tmp_path / "x.dcm", study.slice_results[0], study, OverlaySettings())
    assert list(tmp_path.iterdir()) == []
