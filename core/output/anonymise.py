"""What "anonymise" removes, and the one place that says what an anonymised export keeps.

Exports (the PDF report, the JSON document and the DICOM Secondary Capture, SC) follow the DICOM Basic Application
Level Confidentiality Profile (PS3.15 Annex E, Table E.1-1) for every attribute they carry (`BASIC_PROFILE`):

- emptied (action Z): patient's name, ID, birth date and sex; study date and time; accession number; referring
  physician; study ID; and the SC's content date and time (the export date would date the study);
- removed (X): study and series descriptions, and the SC's derivation description and image comments: free text,
  which is treated as identifying (a study description has been seen to name a member of staff); and the SC's
  Source Image Sequence, which quotes the original image's SOP Instance UID;
- replaced (U): Study, Series and SOP Instance UIDs, by new UIDs (`UidMap`): the same original UID always gets the
  same new UID within one export, so the series of one study still belong together, and a new export gets new ones.

The SC is also marked Patient Identity Removed "YES" with the profile's code in De-identification Method Code
Sequence (PS3.15 E.1.1, item 6).

An anonymised export keeps: modality, series number, image plane (axial/coronal/sagittal), manufacturer, pixel
spacing, slice thickness and spacing, repetition, echo and inversion times and whether a contrast agent is recorded
(not its name), the slices' positions in the series and their DICOM names (series and instance number, position
along the slice normal: attributes the profile keeps), the model's results (classes, probabilities,
out-of-distribution reasons, attention), the pixels of the analysed slices and overlays (the SC's burned-in caption
names the slice as below, the explained class and its probability, the study result and its cautions), the SC's
Image Comments written by the application (the study result and its cautions), the report's institution and
generation time (the user's own, not the patient's), and the application's and model's names and versions.

Files: folders and files are often named after the patient, so anonymised output names an analysed slice without a
DICOM name "image k" (its 1-based position in the series; `slice_name`) and a file that could not be opened "file k"
(its position among the study's skipped files), and gives no path. Their reasons keep their meaning but every
mention of the file's path is replaced by that name (`without_path`).

Saved cases (`core.cases.store`) apply the narrower `IDENTIFYING_FIELDS` (patient name, ID and birth date, and the
accession number, which names the examination in the RIS), so that a case can still be found by its study date.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.io.load import SeriesInfo, SkippedFile

IDENTIFYING_FIELDS = ("patient_name", "patient_id", "patient_birth_date", "accession_number")

#: The PS3.15 Table E.1-1 action for each DICOM attribute an export carries: "Z" empty it, "X" remove it, "U" replace
#: the UID by a new one (`UidMap`). Attributes not listed (modality, series number, manufacturer, ...) are kept.
BASIC_PROFILE: dict[str, str] = {
    "PatientName": "Z", "PatientID": "Z", "PatientBirthDate": "Z", "PatientSex": "Z",
    "StudyDate": "Z", "StudyTime": "Z", "AccessionNumber": "Z", "ReferringPhysicianName": "Z", "StudyID": "Z",
    "ContentDate": "Z", "ContentTime": "Z",
    "StudyDescription": "X", "SeriesDescription": "X", "DerivationDescription": "X", "ImageComments": "X",
    "SourceImageSequence": "X",
    "StudyInstanceUID": "U", "SeriesInstanceUID": "U", "SOPInstanceUID": "U",
}

#: The DICOM attribute each profiled `SeriesInfo` field holds (the JSON metadata and the report's patient block).
SERIES_INFO_ATTRIBUTES: dict[str, str] = {
    "patient_name": "PatientName", "patient_id": "PatientID", "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex", "study_date": "StudyDate", "study_time": "StudyTime",
    "accession_number": "AccessionNumber", "study_description": "StudyDescription",
    "series_description": "SeriesDescription", "study_instance_uid": "StudyInstanceUID",
    "series_instance_uid": "SeriesInstanceUID",
}

#: De-identification Method Code Sequence item for the Basic Profile (PS3.16 CID 7050, code 113100).
_BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

# A word as libraries quote paths in messages: anything but white space, quotes and brackets.
_WORD = re.compile(r"[^\s'\"`()\[\]{}<>,;]+")
_SEPARATORS = re.compile(r"[\\/]+")


class AnalysedSlice(Protocol):
    """What naming an analysed slice needs, as `core.analysis.results.SliceResult` has it (a protocol: analysis names
    its
    slices through this module, so this module does not import analysis)."""

    slice_label: str
    slice_index: int
    named_by_file: bool
    source_path: Path | None
    error: str


def without_identifiers(info: SeriesInfo) -> SeriesInfo:
    """A copy of `info` with the patient's identity (`IDENTIFYING_FIELDS`) emptied: what saved cases leave out."""
    emptied: dict[str, Any] = dict.fromkeys(IDENTIFYING_FIELDS, "")  # Any: replace() types each field on its own
    return dataclasses.replace(info, **emptied)


def removed_by_profile(field_name: str) -> bool:
    """Whether an anonymised export empties or removes this `SeriesInfo` field (a UID is replaced, not removed)."""
    attribute = SERIES_INFO_ATTRIBUTES.get(field_name)
    return attribute is not None and BASIC_PROFILE[attribute] in ("Z", "X")


def shown_value(info: SeriesInfo, field_name: str, anonymise: bool) -> str:
    """A `SeriesInfo` field as an output shows it: "" when anonymising removes it (`removed_by_profile`)."""
    return "" if anonymise and removed_by_profile(field_name) else getattr(info, field_name)


def new_uid() -> str:
    """A new UID under the UUID-derived root "2.25" (PS3.5 B.2): it needs no registered root and, being random, says
    nothing about the original."""
    return f"2.25.{uuid.uuid4().int}"


class UidMap:
    """Replaces UIDs for one export (action U): each original gets a new UID, the same one every time it recurs."""

    def __init__(self) -> None:
        self._replacements: dict[str, str] = {}

    def replace(self, uid: str) -> str:
        """The new UID for `uid`; an empty UID stays empty (there is nothing to link)."""
        if not uid:
            return ""
        return self._replacements.setdefault(uid, new_uid())


def deidentified(info: SeriesInfo, uids: UidMap) -> SeriesInfo:
    """A copy of `info` with `BASIC_PROFILE` applied to the fields that carry DICOM attributes."""
    changes: dict[str, Any] = {  # Any: replace() types each field on its own
        field_name: uids.replace(getattr(info, field_name)) if BASIC_PROFILE[attribute] == "U" else ""
        for field_name, attribute in SERIES_INFO_ATTRIBUTES.items()}
    return dataclasses.replace(info, **changes)


def deidentify_dataset(dataset: Any, uids: UidMap) -> None:
    """Apply `BASIC_PROFILE` to a pydicom Dataset in place and mark it de-identified (PS3.15 E.1.1, item 6)."""
    from pydicom.dataset import Dataset

    for keyword, action in BASIC_PROFILE.items():
        if keyword not in dataset:
            continue
        if action == "X":
            delattr(dataset, keyword)
        elif action == "Z":
            setattr(dataset, keyword, "")
        else:
            setattr(dataset, keyword, uids.replace(str(getattr(dataset, keyword))))
    method = Dataset()
    method.CodeValue, method.CodingSchemeDesignator, method.CodeMeaning = _BASIC_PROFILE_CODE
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethodCodeSequence = [method]


def _spellings(path: Path) -> set[str]:
    """The ways a message may spell the path: as given, absolute, resolved, its relative tails of two or more names
    ("DOE JOHN/IM1"), each with either separator and escaped as in a repr()."""
    parts = Path(os.path.abspath(path)).parts[1:]
    tails = [parts[start:] for start in range(len(parts) - 1)]
    spellings = {str(path), os.path.abspath(path), os.path.realpath(path)}
    spellings |= {separator.join(tail) for tail in tails for separator in {"/", os.sep}}
    spellings |= {spelling.replace(os.sep, "/") for spelling in spellings}
    return spellings | {spelling.encode("unicode_escape").decode("ascii") for spelling in spellings}


def without_path(text: str, path: Path | None, name: str) -> str:
    """`text` with every mention of `path` replaced by `name` ("file 2", "image 7").

    A mention is the path however spelled (`_spellings`), or any other word holding a path separator and one of the
    path's folder or file names. A bare folder or file name is not looked for (libraries quote paths as they were
    given, and we give them whole), so that words of the reason that happen to name a folder ("data") or a file
    ("1") keep their meaning."""
    if path is None or not text:
        return text
    for spelling in sorted(_spellings(path), key=len, reverse=True):
        text = text.replace(spelling, name)
    names = set(path.parts) | set(Path(os.path.abspath(path)).parts)
    names -= {path.anchor, Path(os.path.abspath(path)).anchor}

    def replace(word: re.Match[str]) -> str:
        core = word.group().rstrip(".:")
        parts = _SEPARATORS.split(core)
        if len(parts) > 1 and names.intersection(parts):
            return name + word.group()[len(core):]
        return word.group()

    return _WORD.sub(replace, text)


def slice_name(result: AnalysedSlice, anonymise: bool) -> str:
    """The slice's label (`core.io.load.Slice.label`), except that anonymised, a slice named by its file is "image k"
    (1-based series position): DICOM names ("Se 6 Im 26, S 12.5 mm") say nothing of the patient."""
    return f"image {result.slice_index + 1}" if anonymise and result.named_by_file else result.slice_label


def slice_error(result: AnalysedSlice, anonymise: bool) -> str:
    """Why the slice could not be decoded; anonymised, its file is named as the slice is (`slice_name`)."""
    return without_path(result.error, result.source_path, slice_name(result, True)) if anonymise else result.error


def skipped_files(skipped: Sequence[SkippedFile], anonymise: bool) -> list[tuple[str, str]]:
    """(name, reason) of each file that could not be opened: the path, or "file k" with the path taken out of the
    reason when anonymising."""
    if not anonymise:
        return [(str(file.path), file.reason) for file in skipped]
    named = [(f"file {position}", file) for position, file in enumerate(skipped, start=1)]
    return [(name, without_path(file.reason, file.path, name)) for name, file in named]
