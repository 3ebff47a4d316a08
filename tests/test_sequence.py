"""The sequence hint: from the series description first, then contrast agent and TR/TE/TI; unknown for pictures.
The header fields are read once, when the study is opened (`core.io.dicom.header`), and carried in `SeriesInfo`."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.io.load import SeriesInfo, load_study
from core.io.sequence import FLAIR, OTHER, T1, T1_CONTRAST, T2, UNKNOWN, sequence_hint
from core.paths import sample_study_dir
from tests.dicom_factory import write_mr_series


def header(description: str = "", contrast: str = "", tr: float | None = None, te: float | None = None,
           ti: float | None = None) -> SeriesInfo:
    """The fields an MR header gives, as `core.io.dicom.header` reads them."""
    return SeriesInfo(modality="MR", series_description=description, contrast_agent_recorded=bool(contrast.strip()),
                      repetition_time=tr, echo_time=te, inversion_time=ti)


@pytest.mark.parametrize("description, contrast, expected", [
    ("AX T1 +C", "", T1_CONTRAST), ("T1 MPRAGE POST GAD", "", T1_CONTRAST), ("SAG T1", "GADOVIST", T1_CONTRAST),
    ("COR T1 SE", "", T1), ("AX T1 FLAIR", "", T1), ("AX T2 FLAIR", "", FLAIR), ("AX T2 TSE", "", T2),
    ("DWI b1000", "", OTHER), ("PD AX", "", OTHER), ("3-plane localizer", "", OTHER),
])
def test_the_description_decides_first(description: str, contrast: str, expected: str) -> None:
    hint = sequence_hint(header(description, contrast, tr=500, te=10))
    assert hint.kind == expected and description in hint.evidence


@pytest.mark.parametrize("description", [
    "AX T1 SE PRE-CONTRAST", "AX T1 PRE GAD", "T1 NON-CONTRAST", "AX T1 WITHOUT CONTRAST", "T1 ohne KM",
    "SAG T1 pre Gd", "AX T1 W/O", "T1 MPRAGE nativ", "AX T1 PRECONTRAST", "T1 NC",
])
def test_a_description_saying_before_or_without_contrast_is_plain_t1(description: str) -> None:
    """Even beside a recorded contrast agent: the validated label would hide the 'little weight' warning."""
    for contrast in ("", "GADOVIST"):
        assert sequence_hint(header(description, contrast, tr=500, te=10)).kind == T1


@pytest.mark.parametrize("description", ["AX T1 +C", "T1 POST GAD", "COR T1 CE", "T1 MPRAGE KM", "PREP T1 C+"])
def test_contrast_words_without_a_negation_still_count(description: str) -> None:
    assert sequence_hint(header(description)).kind == T1_CONTRAST


@pytest.mark.parametrize("tr, te, ti, contrast, expected", [
    (4000, 100, None, "", T2), (9000, 120, 2500, "", FLAIR), (500, 12, None, "", T1),
    (2000, 3, 900, "", T1), (550, 10, None, "GD", T1_CONTRAST), (1200, 40, None, "", UNKNOWN),
])
def test_timing_decides_when_the_description_does_not(tr, te, ti, contrast, expected) -> None:
    assert sequence_hint(header("Series 5", contrast, tr, te, ti)).kind == expected


def test_only_contrast_t1_counts_as_validated_and_others_warn() -> None:
    t1c = sequence_hint(header("T1 +C"))
    t2 = sequence_hint(header("AX T2"))
    assert t1c.validated and not t2.validated
    assert "the sequence the model was trained on" in t1c.sentence()
    assert "on T2 it is not validated" in t2.sentence() and "little weight" in t2.sentence()


def test_the_fields_are_read_when_the_series_opens_and_no_file_is_read_again(tmp_path: Path) -> None:
    paths = write_mr_series(tmp_path / "mr", n_slices=2, rows=32, cols=32, SeriesDescription="Series 5",
                            ContrastBolusAgent="GADOVIST 10 ml", RepetitionTime=550, EchoTime=10, InversionTime=None)
    info = load_study(tmp_path / "mr").series[0].info
    for path in paths:
        path.unlink()  # the hint must come from what was read when the study opened

    assert (info.contrast_agent_recorded, info.repetition_time, info.echo_time, info.inversion_time) == (
        True, 550.0, 10.0, None)
    hint = sequence_hint(info)
    assert hint.kind == T1_CONTRAST and hint.evidence == "TR 550 ms, TE 10 ms, contrast agent recorded"


def test_a_description_in_the_file_and_pictures(tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=2, rows=32, cols=32, SeriesDescription="AX T2 FSE")
    assert sequence_hint(load_study(tmp_path / "mr").series[0].info).kind == T2
    pictures = load_study(sorted(sample_study_dir().glob("*.jpg"))[:1]).series[0]
    for info in (pictures.info, None):
        hint = sequence_hint(info)
        assert (hint.kind, hint.evidence) == (UNKNOWN, "no DICOM header")
    assert sequence_hint(header()).evidence == "the header does not say"


def test_the_anonymised_sentence_does_not_quote_the_description() -> None:
    hint = sequence_hint(header("T2 for Dr Smith"))
    assert "Dr Smith" in hint.sentence() and "Dr Smith" not in hint.sentence(anonymise=True)
    assert "on T2 it is not validated" in hint.sentence(anonymise=True)


def test_beside_the_verdict_a_short_caution_names_an_unvalidated_or_unknown_sequence() -> None:
    flair = sequence_hint(header("AX T2 FLAIR"))
    assert flair.caution(negative=True) == "Not validated on FLAIR: a tumour may be missed."
    assert flair.caution(negative=False) == "Not validated on FLAIR: the tumour type and probability are uncertain."
    assert sequence_hint(header("COR T1 SE")).caution(negative=True) == (
        "Not validated on T1 without contrast: a tumour may be missed.")
    assert sequence_hint(header("AX T1 +C")).caution(negative=True) == ""
    assert sequence_hint(None).caution(negative=True) == (  # pictures: nothing says which sequence they are
        "Sequence unknown: validated on contrast-enhanced T1 only; a tumour may be missed.")


def test_a_sequence_the_hint_does_not_name_is_worded_as_such() -> None:
    hint = sequence_hint(header("DWI b1000"))
    assert hint.sentence().startswith("Series looks like a sequence other than T1, T2 or FLAIR (series description")
    assert "on this sequence it is not validated" in hint.sentence()
    assert hint.caution(negative=True) == "Not validated on this sequence: a tumour may be missed."


@pytest.mark.parametrize(("description", "contrast", "expected"), [
    ("t1_se_tra_nativ", "GADOVIST", T1), ("T1_PRE", "GADOVIST", T1), ("T1_MPRAGE_PRE_GD", "GD", T1),
    ("t1_mprage_tra_KM", "", T1_CONTRAST), ("T1C", "", T1_CONTRAST), ("T1CE", "", T1_CONTRAST),
    ("AX T1 POST GAD W/O FS", "", T1_CONTRAST), ("AX T1 WITHOUT FAT SAT +C", "", T1_CONTRAST),
    ("SAG T1 C-SPINE", "", T1), ("T1 C SPINE", "", T1),  # the cervical spine, not contrast
], ids=lambda value: str(value))
def test_scanner_made_names_are_read_word_by_word(description: str, contrast: str, expected: str) -> None:
    """Underscores hid 'nativ', 'pre' and 'KM' inside Siemens-style names, and 'W/O FS' (without fat saturation)
    read as 'without contrast'; 'T1C' and 'T1CE' were not known as contrast-enhanced."""
    assert sequence_hint(header(description, contrast)).kind == expected


def test_a_description_and_a_contrast_agent_that_disagree_are_both_shown() -> None:
    hint = sequence_hint(header("T1_PRE", "GADOVIST"))
    assert hint.kind == T1 and hint.evidence == "series description 'T1_PRE', though a contrast agent is recorded"
