"""DICOMDIR (Media Storage Directory, PS3.10 §8; Basic Directory IOD, PS3.3 F.3): the files its records reference.

A DICOMDIR has no pixels of its own; `core.io.dicom.header.read_file` recognises one by its SOP Class and hands back
the files listed here, which the loader then reads like any other.
"""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from core.errors import UnreadableFileError


def dicomdir_references(path: Path, dicomdir: Dataset) -> list[Path]:
    """Files referenced by a DICOMDIR's directory records (PS3.10 §8, PS3.3 F.3), relative to its folder.

    A Referenced File ID is a path *within* the medium (PS3.10 §8.2: components of the file-set's own tree), so one
    that climbs out of it ("..") or is absolute is not followed: it would pull another patient's files into the
    study."""
    referenced, outside = [], 0
    for record in dicomdir.get("DirectoryRecordSequence", []):
        file_id = record.get("ReferencedFileID")
        if file_id:
            parts = [str(part) for part in (file_id if isinstance(file_id, MultiValue) else [file_id])]
            if any(part in ("", ".", "..") or Path(part).is_absolute() or any(c in part for c in "/\\:")
                   for part in parts):  # ":" a Windows drive ("C:"), which joins as a drive-relative path
                outside += 1
                continue
            referenced.append(path.parent.joinpath(*parts))
    if not referenced:
        raise UnreadableFileError(path, f"all {outside} files the DICOMDIR lists lie outside its folder (not read)"
                                  if outside else "the DICOMDIR lists no files")
    return referenced
