"""Atomic writes remove the partial files a killed process left behind (ours, old enough), and nothing else."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from core.output.atomic import PARTIAL_SUFFIX, STALE_PARTIAL_AGE_S, write_bytes_atomically


def partial_of(destination: Path, age_s: float) -> Path:
    """A temporary file named exactly as `write_bytes_atomically` names them, last modified `age_s` ago."""
    descriptor, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=PARTIAL_SUFFIX)
    with os.fdopen(descriptor, "wb") as file:
        file.write(b"%PDF-1.7 Doe^Jane half a report")
    past = time.time() - age_s
    os.utime(name, (past, past))
    return Path(name)


def test_a_write_removes_stale_partials_of_ours_in_its_folder_and_nothing_else(tmp_path: Path) -> None:
    stale = [partial_of(tmp_path / "report.pdf", STALE_PARTIAL_AGE_S + 60),
             partial_of(tmp_path / "overlay.dcm", 30 * 24 * 3600)]  # another destination in the same folder
    in_progress = partial_of(tmp_path / "report.pdf", 5)  # a write another process is doing right now
    unrelated = {".DS_Store": b"\0\0\0\1Bud1", ".notes.txt.partial": b"another program's", "results.json": b"{}"}
    for name, content in unrelated.items():
        (tmp_path / name).write_bytes(content)
        old = time.time() - 2 * STALE_PARTIAL_AGE_S
        os.utime(tmp_path / name, (old, old))

    write_bytes_atomically(tmp_path / "report.pdf", b"%PDF-1.7 complete")

    assert not any(path.exists() for path in stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([in_progress.name, "report.pdf", *unrelated])
    assert all((tmp_path / name).read_bytes() == content for name, content in unrelated.items())
    assert (tmp_path / "report.pdf").read_bytes() == b"%PDF-1.7 complete"


def test_an_interrupted_write_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    """Ctrl+C mid-write left a hidden '.report.pdf.*.partial' holding patient data."""
    def interrupted(_fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomically(tmp_path / "report.pdf", b"%PDF-1.4 patient data")
    assert list(tmp_path.iterdir()) == []
