"""What kind of MR series this is, relative to what the model was trained on: a hint, never a gate.

The model learned tumours almost only from contrast-enhanced T1 slices; no training tumour is on T2 or FLAIR, so a
negative answer on those sequences means little (measured: gliomas on T2 are rarely found). The hint is derived from
the DICOM header fields `core.io.dicom.header` reads into the series' `SeriesInfo` when the study is opened (no file
is read again), in this order of trust:

1. Series Description (0008,103E), the radiographer's own name for the sequence ("AX T2 FLAIR", "T1 +C", ...).
   A description that says the series was taken before or without contrast ("T1 PRE GAD", "NON-CONTRAST",
   "W/O", "ohne KM", "nativ") makes it plain T1 whatever else the header records: calling such a series the
   validated sequence would drop the one warning that a "no tumour" answer means little.
2. Contrast/Bolus Agent (0018,0010): any value means contrast was given.
3. Repetition, Echo and Inversion Time (0018,0080/0081/0082, PS3.3 C.8.3.1): long TE with long TR is T2-weighted,
   with a long TI too it is FLAIR; short TR and TE (or an MPRAGE-like TI with short TE) are T1-weighted.

Pictures (JPEG/PNG) carry none of this: the hint is then "unknown" and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.io.load import SeriesInfo

T1_CONTRAST, T1, T2, FLAIR, OTHER, UNKNOWN = "T1 with contrast", "T1", "T2", "FLAIR", "other", "unknown"
_VALIDATED = {T1_CONTRAST}
_NO_HEADER = "no DICOM header"
# Matched on the description with "_", "-", "." and similar separators read as spaces, so that scanner-made names
# ("t1_se_tra_nativ", "T1_PRE_GD") are read word by word like typed ones ("AX T1 PRE GD").
_CONTRAST_WORDS = re.compile(r"(\+ ?C\b|\bC\+|\bPOST\b|\bGAD|\bGD\b|\bCE\b|CONTRAST|\bKM\b|\bT1(C|CE|GD)\b)")
# "W/O" and "WITHOUT" mean without contrast unless fat saturation follows ("POST GAD W/O FS").
_NO_CONTRAST_WORDS = re.compile(r"(\bPRE(\b|CON|C\b|GAD|GD|KM)|\bNON ?(C\b|CON|GAD|GD|ENH|KM)|"
                                r"\b(W/?O|WITHOUT)\b(?! ?(FS|FAT|SAT))|\bOHNE\b|\bNATIV|\bNC\b|UNENHANCED)")
_OTHER_WORDS = re.compile(r"\b(DWI|ADC|DIFF\w*|TRACE|SWI|SWAN|PERF\w*|DTI|MRA|TOF|LOCALI[SZ]ER|SCOUT|SURVEY)\b",
                          re.IGNORECASE)


@dataclass(frozen=True)
class SequenceHint:
    """The likely sequence, the header evidence it rests on, and one sentence for the user."""

    kind: str
    evidence: str

    @property
    def validated(self) -> bool:
        return self.kind in _VALIDATED

    @property
    def _name(self) -> str:
        """The sequence in the sentences below ("on FLAIR it is not validated")."""
        return {T1: "T1 without contrast", OTHER: "this sequence"}.get(self.kind, self.kind)

    def sentence(self, anonymise: bool = False) -> str:
        """What the results panel, the report, the JSON and the CLI say about the sequence (one place for that
        sentence). Anonymised, the evidence is not quoted: a series description is free text (core.output.anonymise)."""
        trained = "The model learned tumours almost only from contrast-enhanced T1 slices"
        evidence = "from the DICOM header" if anonymise and self.kind != UNKNOWN else self.evidence
        if self.kind == T1_CONTRAST:
            return f"Series looks like contrast-enhanced T1 ({evidence}), the sequence the model was trained on."
        if self.kind == UNKNOWN:
            return f"Sequence unknown ({evidence}). {trained}; on other sequences it is not validated."
        looks_like = "a sequence other than T1, T2 or FLAIR" if self.kind == OTHER else self._name
        return (f"Series looks like {looks_like} ({evidence}). {trained}: on {self._name} it is not validated and "
                "a tumour may be missed, so a 'no tumour' answer here carries little weight.")

    def caution(self, negative: bool) -> str:
        """The short form that stands beside a verdict (`negative`: "No tumour") when the sequence is not the one
        the model was validated on, or is not known; "" when it is."""
        if self.validated:
            return ""
        risk = "a tumour may be missed" if negative else "the tumour type and probability are uncertain"
        if self.kind == UNKNOWN:
            return f"Sequence unknown: validated on contrast-enhanced T1 only; {risk}."
        return f"Not validated on {self._name}: {risk}."


def _words(description: str) -> str:
    """The description in capitals with separators other than "+" and "/" (which "+C" and "W/O" need) as spaces."""
    return re.sub(r"[^A-Z0-9+/]+", " ", description.upper())


def _from_description(description: str, contrast: bool) -> str | None:
    text = _words(description)
    if _OTHER_WORDS.search(text) or re.search(r"\bPD\b", text):
        return OTHER
    if re.search(r"T1(?!\d)|MPRAGE|SPGR|BRAVO|TFE", text):  # before FLAIR: "T1 FLAIR" is T1-weighted
        if _NO_CONTRAST_WORDS.search(text):
            return T1
        return T1_CONTRAST if contrast or _CONTRAST_WORDS.search(text) else T1
    if "FLAIR" in text:
        return FLAIR
    if re.search(r"T2(?!\d)", text):
        return T2
    return None


def _from_timing(repetition: float | None, echo: float | None, inversion: float | None, contrast: bool) -> str | None:
    if echo is None or repetition is None:
        return None
    if echo >= 60 and repetition >= 1500:
        return FLAIR if inversion is not None and inversion >= 1500 else T2
    if echo <= 30 and (repetition <= 1000 or (inversion is not None and inversion < 1500)):
        return T1_CONTRAST if contrast else T1
    return None


def sequence_hint(info: SeriesInfo | None) -> SequenceHint:
    """The hint for a series from its header fields (rules in the module docstring); "unknown" when they do not
    say, and for pictures, which have no header (they are the series without a modality, as in
    `core.analysis.results`)."""
    if info is None:
        return SequenceHint(UNKNOWN, _NO_HEADER)
    description, contrast = info.series_description, info.contrast_agent_recorded
    repetition, echo, inversion = info.repetition_time, info.echo_time, info.inversion_time
    kind = _from_description(description, contrast)
    if kind is not None:
        if kind == T1 and contrast:  # the description's "pre"/"without" wins, and the reader sees both
            return SequenceHint(kind, f"series description '{description}', though a contrast agent is recorded")
        return SequenceHint(kind, f"series description '{description}'" + (", contrast agent recorded"
                                                                          if contrast else ""))
    kind = _from_timing(repetition, echo, inversion, contrast)
    if kind is not None:
        timing = f"TR {repetition:g} ms, TE {echo:g} ms" + (f", TI {inversion:g} ms" if inversion else "")
        return SequenceHint(kind, timing + (", contrast agent recorded" if contrast else ""))
    return SequenceHint(UNKNOWN, _NO_HEADER if info.from_pictures else "the header does not say")
