"""The sequence hint: from the series description first, then contrast agent and TR/TE/TI; unknown for pictures."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from core.sequence import FLAIR, OTHER, T1, T1_CONTRAST, T2, UNKNOWN, hint_from_dataset, sequence_hint
from tests.dicom_factory import write_mr_series


def header(**values: object) -> pydicom.Dataset:
    dataset = pydicom.Dataset()
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    return dataset


@pytest.mark.parametrize("description, contrast, expected", [
    ("AX T1 +C", "", T1_CONTRAST), ("T1 MPRAGE POST GAD", "", T1_CONTRAST), ("SAG T1", "GADOVIST", T1_CONTRAST),
    ("COR T1 SE", "", T1), ("AX T1 FLAIR", "", T1), ("AX T2 FLAIR", "", FLAIR), ("AX T2 TSE", "", T2),
    ("DWI b1000", "", OTHER), ("PD AX", "", OTHER), ("3-plane localizer", "", OTHER),
])
def test_the_description_decides_first(description: str, contrast: str, expected: str) -> None:
    hint = hint_from_dataset(header(SeriesDescription=description, ContrastBolusAgent=contrast,
                                    RepetitionTime=500, EchoTime=10))
    assert hint.kind == expected and description in hint.evidence


@pytest.mark.parametrize("tr, te, ti, contrast, expected", [
    (4000, 100, None, "", T2), (9000, 120, 2500, "", FLAIR), (500, 12, None, "", T1),
    (2000, 3, 900, "", T1), (550, 10, None, "GD", T1_CONTRAST), (1200, 40, None, "", UNKNOWN),
])
def test_timing_decides_when_the_description_does_not(tr, te, ti, contrast, expected) -> None:
    values = dict(SeriesDescription="Series 5", RepetitionTime=tr, EchoTime=te, ContrastBolusAgent=contrast)
    if ti is not None:
        values["InversionTime"] = ti
    assert hint_from_dataset(header(**values)).kind == expected


def test_only_contrast_t1_counts_as_validated_and_others_warn() -> None:
    t1c = hint_from_dataset(header(SeriesDescription="T1 +C"))
    t2 = hint_from_dataset(header(SeriesDescription="AX T2"))
    assert t1c.validated and not t2.validated
    assert "the sequence the model was trained on" in t1c.sentence()
    assert "on T2 it is not validated" in t2.sentence() and "little weight" in t2.sentence()


def test_a_real_series_file_and_a_picture(tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=2, rows=32, cols=32)
    first = sorted((tmp_path / "mr").glob("*.dcm"))[0]
    dataset = pydicom.dcmread(first)
    dataset.SeriesDescription = "AX T2 FSE"
    dataset.save_as(first)
    assert sequence_hint(first).kind == T2
    picture = tmp_path / "slice.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert sequence_hint(picture).kind == UNKNOWN and sequence_hint(None).kind == UNKNOWN


def test_the_anonymised_sentence_does_not_quote_the_description() -> None:
    hint = hint_from_dataset(header(SeriesDescription="T2 for Dr Smith"))
    assert "Dr Smith" in hint.sentence() and "Dr Smith" not in hint.sentence(anonymise=True)
    assert "on T2 it is not validated" in hint.sentence(anonymise=True)
