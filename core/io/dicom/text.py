"""DICOM values as text: person names (PN) and dates (DA) as the viewer shows them (PS3.5 6.2), and the tag table.

Nothing here guesses: a value that does not have the expected form is shown as written.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

#: Tag-table values longer than this are cut, so a long private string cannot swamp the table.
TAG_VALUE_MAX_CHARS = 160
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}  # value representations shown by length (PS3.5 6.2)


def format_person_name(value: object) -> str:
    """PN "Doe^John^M" → "Doe, John M" (PS3.5 6.2.1.1: family^given^middle^prefix^suffix).

    A PN holds up to three component groups, alphabetic=ideographic=phonetic (PS3.5 6.2.1.2). The alphabetic one is
    shown; where it is empty ("=山田^太郎", a name recorded only in ideographic form) the ideographic one, else the
    phonetic one, so that a recorded name is never shown as missing."""
    return next((name for name in (_format_group(group) for group in _name_groups(value)) if name), "")


def person_name_spellings(value: object) -> list[str]:
    """Every way the PN names the patient, for the log's PHI guard (`core.logging_setup`): each non-empty component
    group formatted and as written, and the ideographic and phonetic components written together ("山田太郎"), as
    such names usually are (the guard matches no piece under three characters, and "山田" is two)."""
    spellings = []
    for position, group in enumerate(_name_groups(value)):
        parts = [part.strip() for part in group.split("^") if part.strip()]
        if parts:
            spellings += [_format_group(group), group]
            if position > 0:
                spellings.append("".join(parts))
    return list(dict.fromkeys(spellings))


def _name_groups(value: object) -> list[str]:
    """The component groups of a PN as written: alphabetic, ideographic, phonetic ("" where absent)."""
    return (str(value or "").split("=") + ["", ""])[:3]


def _format_group(group: str) -> str:
    family, _, rest = group.partition("^")
    family = family.strip()
    given = " ".join(part.strip() for part in rest.split("^")[:2] if part.strip())
    return f"{family}, {given}" if family and given else family or given


def format_date(value: object) -> str:
    """DA "20240131" → "2024-01-31"; anything else is returned as written, never guessed."""
    text = str(value or "").strip()
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 and text.isdigit() else text


def format_time(value: object) -> str:
    """TM "143205.123" → "14:32" (PS3.5 6.2: HHMMSS.FFFFFF, trailing parts optional); anything else as written."""
    text = str(value or "").strip()
    if len(text) >= 4 and text[:4].isdigit():
        return f"{text[:2]}:{text[2:4]}"
    return text


def tag_rows(dataset: Dataset) -> list[tuple[str, str, str]]:
    """(tag, name, value) rows for the tag table: the dataset, then the file meta group (0002), which says how the
    file is encoded and is seldom what a reader looks for; pixel data left out, values shortened."""
    elements = [e for e in dataset if e.tag.group != 0x7FE0]
    elements += list(dataset.file_meta) if dataset.file_meta else []
    return [(f"({e.tag.group:04X},{e.tag.element:04X})", e.keyword or e.name, _value_text(e)) for e in elements]


def _value_text(element: DataElement) -> str:
    if element.VR == "SQ":
        count = len(element.value)
        return f"sequence of {count} item{'s' if count != 1 else ''}"
    if element.VR in _BINARY_VRS:
        return f"<{len(element.value or b'')} bytes>"
    value = element.value
    text = "\\".join(str(v) for v in value) if isinstance(value, MultiValue) else "" if value is None else str(value)
    return text if len(text) <= TAG_VALUE_MAX_CHARS else text[: TAG_VALUE_MAX_CHARS - 1] + "…"
