"""Machine-readable exports: a JSON document of the analysis, and a DICOM Secondary Capture of an overlay image.

JSON schema (schema_version 1; keys are always present, unknown values are null):

    schema_version: 1, application: {name, version}, generated_at: ISO 8601, anonymised: bool,
    model: {name, version, weights_sha256, classes: [str]},
    studies: [{
        source: str | null (null when anonymised),
        skipped_files: [{file: str | null (null when anonymised), reason: str}],
        refused_series: [{metadata: {…as below}, reason: str}] (series the model must not classify, e.g. CT),
        series: [{
            metadata: {patient_name, patient_id, patient_birth_date, patient_sex, study_date, study_time,
                       accession_number, study_description, series_description, modality, orientation, manufacturer,
                       study_instance_uid, series_instance_uid, series_number, pixel_spacing: [row, col] | null,
                       slice_thickness, slice_spacing, contrast_agent_recorded: bool, repetition_time,
                       echo_time, inversion_time (ms)},
            slices: [{file: str | null, index: int, label: str ("Se 6 Im 26, S 12.5 mm", the file name for
                      pictures; core.io.load.Slice.label), probabilities: {class: float} | null,
                      predicted_class: str | null (null = out of distribution or unreadable), ood_reason: str,
                      ood_score: float | null, error: str,
                      attention: {class, image_region, patient_side, peak_row, peak_col, description} | null}],
            result: {verdict: str | null, verdict_display_name: str | null, probabilities: {class: float} | null,
                     rule: str, analysed_slices: int, counted_slices: int, slices_disagree: bool,
                     disagreeing_slices: [int], cautions: [str] (what stands beside the verdict in the window
                     and the report: a close call, disagreeing slices, an unvalidated sequence), notes: [str],
                     sequence: {kind, validated, note} (core.io.sequence; the note never quotes free text when
                     anonymised)}}]}]

With `anonymise`, both exports follow the DICOM Basic Application Level Confidentiality Profile as
`core.output.anonymise`
describes (what is emptied, removed, replaced and kept is said there, once); files are named "file k" / "image k".

Both writers are atomic (see `core.output.atomic`). pydicom is imported only when a Secondary Capture is written.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import core
from core.analysis.overlay import OverlaySettings, attention_summary, render_overlay
from core.analysis.results import SliceResult, StudyResult
from core.output.anonymise import UidMap, deidentified, deidentify_dataset, skipped_files, slice_error, slice_name
from core.output.atomic import write_bytes_atomically
from core.output.burned_in import annotated, captioned, enlarged
from core.output.codec import encode_series_info, json_bytes, json_float
from core.output.wording import (
    NO_PREDICTION,
    counted_words,
    format_percent,
    study_notes,
    verdict_cautions,
    verdict_text,
)
from core.viewing.orientation import EdgeLabels, edge_labels

if TYPE_CHECKING:
    from core.io.load import SeriesInfo, SkippedFile
    from core.model.classifier import ModelManifest

SCHEMA_VERSION = 1
APPLICATION_NAME = "BrainMRI Assist"
SECONDARY_CAPTURE_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7"
SC_SERIES_NUMBER = "9901"  # high, so the overlay series sorts after the acquired series in a PACS
SC_DERIVATION = ("Grad-CAM overlay produced by {app} for decision support; not a diagnosis. Model {model} {version}, "
                 "class {cls}, calibrated probability {prob}.")


@dataclass
class StudyExport:
    """One input study as exported: its source, the analysed series' results, the files that were skipped, and the
    series the model must not classify (`core.analysis.results.not_analysable_reason`), with the reason."""

    source: Path
    results: list[StudyResult]
    skipped: list[SkippedFile]
    refused: list[tuple[SeriesInfo, str]] = field(default_factory=list)


def _by_class(classes: Sequence[str], probabilities: np.ndarray | None) -> dict[str, float] | None:
    return None if probabilities is None else {c: float(p) for c, p in zip(classes, probabilities)}


def _metadata(info: SeriesInfo | None, uids: UidMap | None) -> dict[str, Any] | None:
    """The series fields; `uids` given (anonymising) applies the confidentiality profile with those new UIDs."""
    if info is None:
        return None
    fields = encode_series_info(info if uids is None else deidentified(info, uids)) or {}
    fields = {key: (value or None) if isinstance(value, str) else value for key, value in fields.items()}
    fields["pixel_spacing"] = list(info.pixel_spacing) if info.pixel_spacing else None
    return fields


def _attention(result: SliceResult, study: StudyResult) -> dict[str, Any] | None:
    prediction = result.prediction
    if prediction is None or prediction.label is None:
        return None
    location = attention_summary(prediction.cam_for(prediction.predicted_index), result.orientation, result.display)
    return {"class": prediction.label, "image_region": location.image_region or None,
            "patient_side": location.patient_side or None, "peak_row": round(location.peak_row, 4),
            "peak_col": round(location.peak_col, 4), "description": location.describe()}


def _slice_entry(result: SliceResult, study: StudyResult, anonymise: bool) -> dict[str, Any]:
    prediction = result.prediction
    return {
        "file": None if anonymise or result.source_path is None else str(result.source_path),
        "index": result.slice_index,
        "label": slice_name(result, anonymise),
        # A slice the OOD check rejected has a softmax but no prediction: as in the window and the report, none is
        # given, so no program reads it as one.
        "probabilities": _by_class(study.classes, None if prediction is None or prediction.label is None
                                   else prediction.probabilities),
        "predicted_class": None if prediction is None else prediction.label,
        "ood_reason": "" if prediction is None else prediction.ood_reason,
        "ood_score": None if prediction is None else json_float(prediction.ood_score),
        "error": slice_error(result, anonymise),
        "attention": _attention(result, study),
    }


def _series_entry(study: StudyResult, anonymise: bool, uids: UidMap) -> dict[str, Any]:
    return {
        "metadata": _metadata(study.series_info, uids if anonymise else None),
        "slices": [_slice_entry(result, study, anonymise) for result in study.slice_results],
        "result": {
            "verdict": study.verdict_label,
            "verdict_display_name": None if study.verdict_label is None else study.display_name(study.verdict_label),
            "probabilities": _by_class(study.classes, study.probabilities),
            "rule": study.rule,
            "analysed_slices": len(study.slice_results),
            "counted_slices": len(study.counted_results),
            "slices_disagree": bool(study.disagreeing_results),
            "disagreeing_slices": [result.slice_index for result in study.disagreeing_results],
            "cautions": verdict_cautions(study),
            "notes": study_notes(study, anonymise),
            "sequence": {"kind": study.sequence_hint.kind, "validated": study.sequence_hint.validated,
                         "note": study.sequence_hint.sentence(anonymise)},
        },
    }


def json_document(studies: Sequence[StudyExport], manifest: ModelManifest, anonymise: bool = False,
                  generated_at: datetime | None = None) -> dict[str, Any]:
    """The export as plain JSON-ready data (schema in the module docstring); one `UidMap` for the whole document."""
    uids = UidMap()
    return {
        "schema_version": SCHEMA_VERSION,
        "application": {"name": APPLICATION_NAME, "version": core.__version__},
        "generated_at": (generated_at or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "anonymised": anonymise,
        "model": {"name": manifest.name, "version": manifest.version, "weights_sha256": manifest.weights_sha256,
                  "classes": list(manifest.classes)},
        "studies": [{
            "source": None if anonymise else str(study.source),
            "skipped_files": [{"file": None if anonymise else name, "reason": reason}
                              for name, reason in skipped_files(study.skipped, anonymise)],
            "series": [_series_entry(result, anonymise, uids) for result in study.results],
            "refused_series": [{"metadata": _metadata(info, uids if anonymise else None), "reason": reason}
                               for info, reason in study.refused],
        } for study in studies],
    }


def write_json(path: Path, studies: Sequence[StudyExport], manifest: ModelManifest, anonymise: bool = False) -> None:
    """Write `json_document(...)` atomically as UTF-8; raises `core.errors.ReportWriteError` on failure."""
    write_bytes_atomically(Path(path), json_bytes(json_document(studies, manifest, anonymise)) + b"\n")


def _patient_orientation(labels: EdgeLabels | None) -> list[str] | str:
    """Patient Orientation (PS3.3 C.7.6.1.1.1): the patient directions of the rows and of the columns, as the
    burned-in letters show them, in its letters (H and F where viewers draw S and I); empty when unknown."""
    if labels is None:
        return ""
    return [direction.translate(str.maketrans("SI", "HF")) for direction in (labels.right, labels.bottom)]


def _source_dataset(path: Path | None):
    """The source slice's DICOM header, or None for picture files and unreadable sources."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    if path is None:
        return None
    try:
        return dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError):
        return None


# Patient and study attributes copied from a DICOM source so a PACS files the overlay with the original study.
_PATIENT_AND_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                      "ReferringPhysicianName", "StudyID", "AccessionNumber", "StudyDescription")


def secondary_capture_dataset(result: SliceResult, study: StudyResult, settings: OverlaySettings,
                              anonymise: bool = False, now: datetime | None = None):
    """A pydicom Dataset: SC Image Storage of the slice's overlay, linked to the source study and patient; with
    `anonymise`, de-identified as `core.output.anonymise` describes (no link back to the source image)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    prediction = result.prediction
    if prediction is None or prediction.label is None or result.display is None:
        raise ValueError("only a slice with an in-distribution prediction has an overlay to export")
    explanation = settings.explain(prediction)
    class_name = study.display_name(study.classes[explanation.class_index])
    probability = format_percent(explanation.probability)
    info = study.series_info
    labels = edge_labels(result.orientation)
    spacing = info.pixel_spacing if info is not None else None
    canvas, factor = enlarged(render_overlay(result.display, prediction.cam_for(explanation.class_index), settings))
    overlay = annotated(canvas, labels, spacing[1] / factor if spacing else None)
    weak = ", weak evidence" if explanation.weak else ""
    # What the window and the report put beside the map and the verdict travels with the image into the PACS.
    verdict = verdict_text(study) or NO_PREDICTION
    cautions = verdict_cautions(study)
    pixels = captioned(overlay, [f"{slice_name(result, anonymise)}: Grad-CAM {class_name} {probability}{weak} - "
                                 "decision support, not a diagnosis",
                                 f"Study result: {verdict} ({counted_words(study)})", *cautions])
    now = now or datetime.now()
    source = _source_dataset(result.source_path)

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: patient names need not be Latin-1
    ds.SOPClassUID = SECONDARY_CAPTURE_SOP_CLASS
    ds.SOPInstanceUID = generate_uid()
    for keyword in _PATIENT_AND_STUDY:  # picture files carry no patient data: the attributes stay empty
        setattr(ds, keyword, source.get(keyword, "") if source is not None else "")
    source_study_uid = getattr(source, "StudyInstanceUID", "") or (info.study_instance_uid if info else "")
    ds.StudyInstanceUID = source_study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.SeriesNumber = SC_SERIES_NUMBER
    ds.SeriesDescription = "Grad-CAM overlay (decision support)"
    ds.InstanceNumber = "1"
    ds.Manufacturer = APPLICATION_NAME
    ds.SoftwareVersions = [core.__version__, f"{study.model_name} {study.model_version}"]
    ds.ConversionType = "WSD"
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.PatientOrientation = _patient_orientation(labels)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    derivation = SC_DERIVATION.format(app=APPLICATION_NAME, model=study.model_name, version=study.model_version,
                                      cls=class_name, prob=probability)
    ds.DerivationDescription = derivation[:1024]
    ds.BurnedInAnnotation = "YES"
    if source is not None and "SOPInstanceUID" in source:
        reference = Dataset()
        reference.ReferencedSOPClassUID = source.SOPClassUID
        reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
        ds.SourceImageSequence = [reference]
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    if anonymise:
        deidentify_dataset(ds, UidMap())
    # Written after de-identifying, which removes Image Comments as free text: these are the application's own
    # words (the result and its cautions, no patient data) and must reach the PACS either way.
    ds.ImageComments = " ".join(["Decision-support overlay, not a diagnosis.", f"Study result: {verdict}.", *cautions,
                                 "Caption, orientation letters and scale bar burned into the image."])[:10240]

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return ds


def write_secondary_capture(path: Path, result: SliceResult, study: StudyResult, settings: OverlaySettings,
                            anonymise: bool = False) -> None:
    """Write the overlay of one slice as a DICOM Secondary Capture file, atomically."""
    from pydicom import dcmwrite

    buffer = io.BytesIO()
    dcmwrite(buffer, secondary_capture_dataset(result, study, settings, anonymise), enforce_file_format=True)
    write_bytes_atomically(Path(path), buffer.getvalue())
