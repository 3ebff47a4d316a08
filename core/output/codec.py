"""The one encoding of results as JSON-ready data: `StudyResult` ↔ dict (+ the Grad-CAM arrays beside it), and the one
float and document encoders that every JSON file we write goes through.

Used by the case store (`core.cases.files`: case.json + cams.npz, which must reopen a case exactly as analysed, so
the format below is frozen: cases saved by earlier versions must keep opening) and by the JSON export
(`core.output.export`, a one-way document for other programs in its own schema, which shares the float and series
encoders). Keys read with a default are absent from cases saved by earlier versions.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.analysis.results import SliceResult, StudyResult
from core.io.load import SeriesInfo
from core.model.classifier import SlicePrediction


def json_float(value: float | None) -> float | None:
    """JSON has no NaN or infinity: an undefined value (e.g. an OOD score without feature statistics) is null."""
    return None if value is None or not math.isfinite(value) else float(value)


def json_bytes(document: Mapping[str, Any]) -> bytes:
    """`document` as UTF-8 JSON text, indented, non-ASCII kept, NaN refused (encode floats with `json_float`).

    A file name that is not valid UTF-8 (Latin-1 names from an old CD or a Windows share) reaches Python as lone
    surrogates, which UTF-8 cannot encode: such a document is written with ASCII escapes instead ("\\udce9"),
    which every JSON reader reads back to the same name."""
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, indent=2, ensure_ascii=True, allow_nan=False).encode("ascii")


def cams_key(position: int) -> str:
    """The key under which the CAMs of the result at `position` are stored beside the dict."""
    return f"cams_{position:03d}"


def _float32_or_none(values: list[float] | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float32)


def _tuple_or_none(values: list[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(value) for value in values)


def encode_prediction(prediction: SlicePrediction, cams: str) -> dict[str, Any]:
    return {
        "probabilities": prediction.probabilities.tolist(),
        "label": prediction.label,
        "ood_reason": prediction.ood_reason,
        "ood_score": json_float(prediction.ood_score),
        "cams": cams,
    }


def decode_prediction(data: dict[str, Any], cams: Mapping[str, np.ndarray]) -> SlicePrediction:
    return SlicePrediction(
        probabilities=np.asarray(data["probabilities"], dtype=np.float32),
        label=data["label"],
        ood_reason=data["ood_reason"],
        ood_score=math.nan if data["ood_score"] is None else data["ood_score"],
        cams=cams[data["cams"]],
    )


def encode_slice_result(result: SliceResult, position: int) -> dict[str, Any]:
    prediction = result.prediction
    return {
        "slice_label": result.slice_label,
        "named_by_file": result.named_by_file,
        "slice_index": result.slice_index,
        "source_path": None if result.source_path is None else str(result.source_path),
        "error": result.error,
        "orientation": None if result.orientation is None else list(result.orientation),
        "prediction": None if prediction is None else encode_prediction(prediction, cams_key(position)),
    }


def decode_slice_result(data: dict[str, Any], cams: Mapping[str, np.ndarray], display: np.ndarray | None
                        ) -> SliceResult:
    return SliceResult(
        slice_label=data["slice_label"],
        slice_index=data["slice_index"],
        display=display,
        prediction=None if data["prediction"] is None else decode_prediction(data["prediction"], cams),
        source_path=None if data["source_path"] is None else Path(data["source_path"]),
        error=data["error"],
        named_by_file=data.get("named_by_file", True),  # absent in cases saved before slices had DICOM names
        orientation=_tuple_or_none(data.get("orientation")),  # absent in cases saved before reports lettered edges
    )


def encode_series_info(info: SeriesInfo | None) -> dict[str, Any] | None:
    """Every `SeriesInfo` field by name (pixel spacing as a list)."""
    return None if info is None else dataclasses.asdict(info)


def decode_series_info(data: dict[str, Any] | None) -> SeriesInfo | None:
    if data is None:
        return None
    known = {field.name for field in dataclasses.fields(SeriesInfo)}  # ignore fields a later version may add
    values = {name: value for name, value in data.items() if name in known}
    if values.get("pixel_spacing") is not None:
        values["pixel_spacing"] = tuple(values["pixel_spacing"])
    return SeriesInfo(**values)


def encode_study_result(result: StudyResult) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A JSON-ready dict, plus the CAMs (kept as arrays, keyed as the dict refers to them)."""
    cams = {
        cams_key(position): slice_result.prediction.cams
        for position, slice_result in enumerate(result.slice_results)
        if slice_result.prediction is not None
    }
    probabilities = result.probabilities
    encoded = {
        "series_info": encode_series_info(result.series_info),
        "slice_results": [encode_slice_result(slice_result, n) for n, slice_result in enumerate(result.slice_results)],
        "verdict_label": result.verdict_label,
        "probabilities": None if probabilities is None else np.asarray(probabilities).tolist(),
        "rule": result.rule,
        "model_name": result.model_name,
        "model_version": result.model_version,
        "weights_sha256": result.weights_sha256,
        "classes": list(result.classes),
        "series_length": result.series_length,
    }
    return encoded, cams


def decode_study_result(data: dict[str, Any], cams: Mapping[str, np.ndarray],
                        displays: Sequence[np.ndarray | None]) -> StudyResult:
    """The result `encode_study_result` encoded; `displays` are the slices' images (None where none was kept)."""
    return StudyResult(
        series_info=decode_series_info(data["series_info"]),
        slice_results=[
            decode_slice_result(entry, cams, display)
            for entry, display in zip(data["slice_results"], displays, strict=True)
        ],
        verdict_label=data["verdict_label"],
        probabilities=_float32_or_none(data["probabilities"]),
        rule=data["rule"],
        model_version=data["model_version"],
        weights_sha256=data["weights_sha256"],
        model_name=data["model_name"],
        classes=tuple(data["classes"]),
        series_length=data.get("series_length"),  # absent in cases saved before it was recorded
    )
