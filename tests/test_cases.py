"""Case history: save, list/search, reopen exactly as analysed, notes, reports, delete, crash safety, schema
migration, PHI absence for anonymised cases, safe folder names."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from core.analysis.overlay import OverlaySettings
from core.analysis.results import AGGREGATION_RULE, SliceResult, StudyResult
from core.cases import files as case_files
from core.cases import schema as case_schema
from core.cases import store as case_store
from core.cases.files import safe_file_name, safe_name
from core.cases.store import CaseStore
from core.errors import CaseDatabaseError, CaseNotFoundError, CaseStoreError, os_error_reason
from core.io.load import SeriesInfo
from core.model.classifier import SlicePrediction
from tests.conftest import REPO_ROOT

CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
PATIENT_NAME, PATIENT_ID, BIRTH_DATE = "Doe^Johnathan", "PID-778899", "19610203"
PHI_STRINGS = ("Doe^Johnathan", "Johnathan", "PID-778899", "19610203", "1961-02-03")
STUDY_SOURCE = Path("/studies/Doe_Johnathan/MR_HEAD")
OVERLAY = OverlaySettings(visible=False, opacity=0.7, threshold=0.35, colormap="inferno", class_index=2)


def make_study_result(seed: int = 0, verdict: str | None = "glioma", study_date: str = "20240131") -> StudyResult:
    """Three slices as core.analysis.results makes them: one counted, one out of distribution, one unreadable."""
    rng = np.random.default_rng(seed)
    info = SeriesInfo(
        patient_name=PATIENT_NAME, patient_id=PATIENT_ID, patient_birth_date=BIRTH_DATE, patient_sex="M",
        study_date=study_date, study_description="MRI BRAIN", series_description="T1 AX POST", modality="MR",
        orientation="axial", manufacturer="ACME", study_instance_uid="1.2.3.4", series_instance_uid="1.2.3.4.5",
        series_number="7", pixel_spacing=(0.5, 0.5), slice_thickness=5.0, slice_spacing=6.0,
    )

    def prediction(label: str | None, ood_score: float) -> SlicePrediction:
        probabilities = rng.dirichlet(np.ones(4)).astype(np.float32) * 0.2
        probabilities[CLASSES.index(label or "notumor")] += 0.8  # the label is the most probable class
        cams = rng.random((4, 8, 8), dtype=np.float32)
        return SlicePrediction(probabilities, label, "" if label else "unlike the training images", ood_score, cams)

    def display() -> np.ndarray:
        return rng.integers(0, 256, (48, 40), dtype=np.uint8)

    slices = [
        SliceResult(f"{PATIENT_NAME}_IM-0011.dcm", 11, display(), prediction("glioma", 0.4), STUDY_SOURCE / "IM-0011"),
        SliceResult("IM-0012.dcm", 12, display(), prediction(None, math.nan), STUDY_SOURCE / "IM-0012"),
        SliceResult("IM-0013.dcm", 13, None, None, STUDY_SOURCE / "IM-0013", error="truncated pixel data"),
    ]
    probabilities = None if verdict is None else slices[0].prediction.probabilities
    return StudyResult(info, slices, verdict, probabilities, AGGREGATION_RULE, "1.0.0", "ab" * 32,
                       model_name="xception-brain", classes=CLASSES)


def assert_same(actual: object, expected: object, where: str = "result") -> None:
    """Deep equality over dataclasses, numpy arrays (dtype included) and NaN, naming the first difference."""
    if dataclasses.is_dataclass(expected):
        assert type(actual) is type(expected), where
        for field in dataclasses.fields(expected):
            assert_same(getattr(actual, field.name), getattr(expected, field.name), f"{where}.{field.name}")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray) and actual.dtype == expected.dtype, where
        assert np.array_equal(actual, expected, equal_nan=True), where
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for n, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{n}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert isinstance(actual, float) and math.isnan(actual), where
    else:
        assert actual == expected, where


class SteppingClock:
    """A clock one minute later at each call, so cases sort and name predictably."""

    def __init__(self, start: datetime = datetime(2026, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=1)))) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    return CaseStore(tmp_path / "data", clock=SteppingClock())


def save_sample(store: CaseStore, name: str = "Follow-up", **kwargs) -> case_schema.CaseRecord:
    kwargs.setdefault("study_result", make_study_result())
    return store.save(name, study_source=STUDY_SOURCE, overlay_settings=OVERLAY, **kwargs)


def snapshot(root: Path) -> tuple[list, list, dict[str, str]]:
    """The store's visible state: every row, and every file under the cases folder with its content hash."""
    with sqlite3.connect(root / case_store.DATABASE_NAME) as connection:
        case_rows = connection.execute("SELECT * FROM cases ORDER BY id").fetchall()
        report_rows = connection.execute("SELECT * FROM reports ORDER BY id").fetchall()
    connection.close()
    files = {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / case_store.CASES_DIR_NAME).rglob("*"))
        if path.is_file()
    }
    return case_rows, report_rows, files


# --- save / get / list ----------------------------------------------------------------------------------------------


def test_get_returns_the_case_exactly_as_saved_including_images_and_overlay(store: CaseStore) -> None:
    result = make_study_result()
    record = save_sample(store, "Follow-up glioma", study_result=result, notes="compare with 2023",
                         copy_slice_images=True)

    case = store.get(record.case_id)

    assert_same(case.study_result, result)
    assert case.overlay_settings == OVERLAY
    assert case.notes == "compare with 2023"
    assert case.study == case_files.StudyReference(str(STUDY_SOURCE), "1.2.3.4", "1.2.3.4.5")
    assert case.record == record
    assert record.name == "Follow-up glioma"
    assert (record.patient_id, record.study_date, record.verdict_label, record.anonymised) == (
        PATIENT_ID, "20240131", "glioma", False)
    assert record.created_at == "2026-03-14T09:31:00+01:00"
    assert record.folder == store.cases_dir / "20260314-093100_Follow-up glioma"
    assert sorted(p.name for p in record.folder.iterdir()) == [
        "cams.npz", "case.json", "reports", "slice_000.png", "slice_001.png"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_cases_are_readable_by_their_owner_only(store: CaseStore) -> None:
    folder = save_sample(store, copy_slice_images=True).folder
    assert store.cases_dir.stat().st_mode & 0o777 == 0o700
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {path.stat().st_mode & 0o777 for path in folder.iterdir() if path.is_file()} == {0o600}


def test_without_image_copies_displays_reopen_as_none_and_the_rest_is_unchanged(store: CaseStore) -> None:
    result = make_study_result(verdict=None)
    case = store.get(save_sample(store, study_result=result).case_id)

    assert [slice_result.display for slice_result in case.study_result.slice_results] == [None, None, None]
    without_displays = [dataclasses.replace(s, display=None) for s in result.slice_results]
    assert_same(case.study_result, dataclasses.replace(result, slice_results=without_displays))
    assert not list(case.record.folder.glob("*.png"))


def test_list_is_newest_first_and_search_covers_name_patient_id_dates_and_result(store: CaseStore) -> None:
    first = save_sample(store, "Ärztin Review", study_result=make_study_result(verdict="pituitary"))
    second = save_sample(store, "Weekly board", study_result=make_study_result(study_date="20231105"))
    third = save_sample(store, "No verdict", study_result=make_study_result(verdict=None, study_date="20221212"))

    def ids(query: str) -> list[int]:
        return [record.case_id for record in store.list(query)]

    assert ids("") == [third.case_id, second.case_id, first.case_id]
    assert ids("ärztin") == ids("ÄRZTIN review") == [first.case_id]
    assert ids("pid-778899") == [third.case_id, second.case_id, first.case_id]
    assert ids("PITUITARY") == [first.case_id]
    assert ids("pituitary tumour") == ids("tumour") == [first.case_id]  # the result as the panel lists it
    assert ids("glioma") == [second.case_id]
    assert ids("2023-11-05") == ids("20231105") == [second.case_id]  # study date, either spelling
    assert ids("2026-03-14T09:31") == [first.case_id]  # saved date/time
    assert ids("weekly glioma") == [second.case_id]  # every term must match
    assert ids("weekly pituitary") == []
    assert ids("%") == ids("_") == []  # no SQL wildcards leak through


def test_update_notes_replaces_notes_and_unknown_cases_raise(store: CaseStore) -> None:
    record = save_sample(store, notes="first read")
    store.update_notes(record.case_id, "second read: stable")
    assert store.get(record.case_id).notes == "second read: stable"
    with pytest.raises(CaseNotFoundError):
        store.update_notes(record.case_id + 1, "x")
    with pytest.raises(CaseNotFoundError):
        store.get(record.case_id + 1)


def test_a_case_needs_a_name(store: CaseStore) -> None:
    with pytest.raises(CaseStoreError):
        save_sample(store, "   ")


def test_a_case_whose_files_were_removed_outside_the_app_raises_a_store_error(store: CaseStore) -> None:
    record = save_sample(store)
    (record.folder / "cams.npz").unlink()
    with pytest.raises(CaseStoreError, match="cannot be read"):
        store.get(record.case_id)
    shutil.rmtree(record.folder)
    with pytest.raises(CaseStoreError, match="cannot be read"):
        store.get(record.case_id)
    store.delete(record.case_id)  # a broken case can still be removed from the list
    assert store.list() == []


# --- damaged cases -------------------------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_case_file(folder: Path, edit: Callable[[dict], object]) -> None:
    document = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    edit(document)
    (folder / "case.json").write_text(json.dumps(document), encoding="utf-8")


def _drop_first_cams(folder: Path) -> None:
    with np.load(folder / "cams.npz") as archive:
        kept = {key: archive[key] for key in archive.files if key != "cams_000"}
    with (folder / "cams.npz").open("wb") as file:
        np.savez_compressed(file, **kept)


# How a case folder gets damaged outside the app: the damaging edit, the file blamed, and what the message says of it.
DAMAGES: dict[str, tuple[Callable[[Path], object], str, str]] = {
    "cams truncated": (lambda folder: _truncate(folder / "cams.npz"), "cams.npz", "cannot be read (File is not a zip"),
    "cams empty": (lambda folder: (folder / "cams.npz").write_bytes(b""), "cams.npz", "cannot be read ("),
    "cams removed": (lambda folder: (folder / "cams.npz").unlink(), "cams.npz",
                     "cannot be read (a file or folder is missing)"),
    "cams entry missing": (_drop_first_cams, "case.json", "cannot be read ('cams_000' is missing)"),
    "case file a list": (lambda folder: (folder / "case.json").write_text("[]"), "case.json", "does not hold a case"),
    "case file cut off": (lambda folder: _truncate(folder / "case.json"), "case.json", "cannot be read ("),
    "case file not text": (lambda folder: (folder / "case.json").write_bytes(b"\xff\xfe\x00{"), "case.json",
                           "cannot be read ("),
    "study entry deleted": (lambda folder: _edit_case_file(folder, lambda document: document.pop("study")),
                            "case.json", "lacks where the study came from"),
    "study entry garbled": (lambda folder: _edit_case_file(folder, lambda document: document["study"].update(x=1)),
                            "case.json", "cannot be read ("),
    "results garbled": (lambda folder: _edit_case_file(
                            folder, lambda document: document["study_result"].update(slice_results=5)),
                        "case.json", "cannot be read ("),
    "format version garbled": (lambda folder: _edit_case_file(folder, lambda document: document.update(
                                   format_version="one")), "case.json", "has no valid format version"),
    "slice image truncated": (lambda folder: _truncate(folder / "slice_000.png"), "slice_000.png", "cannot be read ("),
    "slice image outside the case": (lambda folder: _edit_case_file(
                                         folder, lambda document: document["slice_images"].__setitem__(0, "../x.png")),
                                     "case.json", "lists a slice image that is not a file of the case"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_case_is_reported_as_damaged_and_the_other_cases_still_work(store: CaseStore, damage: str) -> None:
    damaged = save_sample(store, "Damaged", copy_slice_images=True)
    intact = save_sample(store, "Intact", copy_slice_images=True)
    damage_folder, file_name, problem = DAMAGES[damage]
    damage_folder(damaged.folder)

    with pytest.raises(CaseStoreError) as raised:
        store.get(damaged.case_id)

    assert type(raised.value) is CaseStoreError and raised.value.path == damaged.folder / file_name
    assert raised.value.reason.startswith(f"Case {damaged.case_id} cannot be reopened. The case is damaged: its file "
                                          f"{file_name} {problem}")
    assert raised.value.reason.endswith(f"Delete the case, or put its folder {damaged.folder} back from a backup; the "
                                        "other cases are not affected.")
    assert [record.case_id for record in store.list()] == [intact.case_id, damaged.case_id]
    assert_same(store.get(intact.case_id).study_result, make_study_result())
    store.delete(damaged.case_id)  # the way out the message offers
    assert [record.case_id for record in store.list()] == [intact.case_id]


def test_a_case_from_a_newer_version_is_not_called_damaged(store: CaseStore) -> None:
    record = save_sample(store)
    _edit_case_file(record.folder, lambda document: document.update(format_version=99))
    with pytest.raises(CaseStoreError) as raised:
        store.get(record.case_id)
    assert raised.value.reason == (f"Case {record.case_id} cannot be reopened. The case was saved by a newer version "
                                   "of the application.")


def test_exporting_a_damaged_case_is_refused_and_leaves_nothing(store: CaseStore, tmp_path: Path) -> None:
    record = save_sample(store)
    (record.folder / "case.json").write_text("[]")
    (tmp_path / "out").mkdir()
    with pytest.raises(CaseStoreError, match="The case is damaged: its file case.json does not hold a case"):
        store.export(record.case_id, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


# --- reports -------------------------------------------------------------------------------------------------------


def test_attach_report_copies_the_file_under_a_unique_safe_name(store: CaseStore, tmp_path: Path) -> None:
    record = save_sample(store)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7 first")
    hostile = tmp_path / "..report  CON.pdf"
    hostile.write_bytes(b"%PDF-1.7 hostile")

    first = store.attach_report(record.case_id, report)
    report.write_bytes(b"%PDF-1.7 second")
    second = store.attach_report(record.case_id, report)
    third = store.attach_report(record.case_id, hostile)

    assert [r.file_name for r in store.get(record.case_id).reports] == ["report.pdf", "report-2.pdf", "report CON.pdf"]
    assert first.path.read_bytes() == b"%PDF-1.7 first" and second.path.read_bytes() == b"%PDF-1.7 second"
    assert third.path.parent == record.folder / "reports" and third.path.read_bytes() == b"%PDF-1.7 hostile"


def test_attach_report_refuses_a_missing_file_and_an_unknown_case(store: CaseStore, tmp_path: Path) -> None:
    record = save_sample(store)
    with pytest.raises(CaseStoreError):
        store.attach_report(record.case_id, tmp_path / "absent.pdf")
    (tmp_path / "r.pdf").write_bytes(b"%PDF")
    with pytest.raises(CaseNotFoundError):
        store.attach_report(record.case_id + 1, tmp_path / "r.pdf")


# --- delete --------------------------------------------------------------------------------------------------------


def test_delete_removes_the_row_the_reports_and_the_folder(store: CaseStore, tmp_path: Path) -> None:
    keep = save_sample(store, "keep")
    doomed = save_sample(store, "doomed", copy_slice_images=True)
    (tmp_path / "r.pdf").write_bytes(b"%PDF")
    store.attach_report(doomed.case_id, tmp_path / "r.pdf")

    store.delete(doomed.case_id)

    assert [r.case_id for r in store.list()] == [keep.case_id]
    assert sorted(p.name for p in store.cases_dir.iterdir()) == [keep.folder.name]
    with pytest.raises(CaseNotFoundError):
        store.get(doomed.case_id)
    with pytest.raises(CaseNotFoundError):
        store.delete(doomed.case_id)
    assert snapshot(store.root)[1] == []


def test_delete_that_fails_in_the_database_restores_the_folder(store: CaseStore, monkeypatch) -> None:
    record = save_sample(store, copy_slice_images=True)
    before = snapshot(store.root)
    monkeypatch.setattr(case_schema, "transaction", _failing_transaction)
    with pytest.raises(CaseStoreError) as raised:
        store.delete(record.case_id)
    assert raised.value.reason == f"Case {record.case_id} could not be deleted from {store.cases_dir}: disk full."
    assert snapshot(store.root) == before


def _failing_transaction(connection):
    raise OSError("disk full")


# --- safe names ----------------------------------------------------------------------------------------------------

HOSTILE_NAMES = ["../../etc", "..", ".", "CON", "con.txt", "lpt9", "a/b", "a\\b", "C:\\Windows\\x", "nul .  ",
                 "🧠🧠", "tab\there\nnewline\x00nul\x1b", "  trailing dots...", '<>:"|?*', "x" * 500, ""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_name_is_a_harmless_portable_file_name(name: str) -> None:
    result = safe_name(name)
    assert 0 < len(result) <= case_files.MAX_NAME_CHARS
    assert not set(result) & set('/\\:*?"<>|')
    assert all(ch.isprintable() for ch in result)
    assert not result.startswith(".") and not result.endswith((".", " "))
    assert result.split(".")[0].strip().upper() not in case_files._WINDOWS_RESERVED_NAMES
    assert result not in (".", "..")


def test_safe_names_keep_ordinary_text_and_other_scripts() -> None:
    assert safe_name("Follow-up 2024 (glioma)") == "Follow-up 2024 _glioma"
    assert safe_name("Ärztin Müller – Befund") == "Ärztin Müller _ Befund"
    assert safe_name("CON") == "_CON"
    assert safe_name("../../etc") == "etc"
    assert safe_file_name("../../report.PDF") == "report.pdf"
    assert safe_file_name("CON.pdf") == "_CON.pdf"


def test_hostile_case_names_all_get_distinct_folders_inside_the_cases_folder(tmp_path: Path) -> None:
    frozen = datetime(2026, 1, 2, 3, 4, 5).astimezone()
    store = CaseStore(tmp_path / "data", clock=lambda: frozen)  # same second: names must still be unique
    names = [name for name in HOSTILE_NAMES if name.strip()] + ["CON", "CON"]
    records = [save_sample(store, name) for name in names]

    folders = [record.folder for record in records]
    assert len(set(folders)) == len(names)
    assert all(folder.parent == store.cases_dir and folder.is_dir() for folder in folders)
    assert [store.get(record.case_id).record.name for record in records] == names


# --- crash safety --------------------------------------------------------------------------------------------------


def _raise_after(original):
    """`original` runs (its effects happen) and then the step fails, as a crash right after it would."""

    def failing(*args, **kwargs):
        original(*args, **kwargs)
        raise OSError("injected failure")

    return failing


def _raise_instead(*args, **kwargs):
    raise OSError("injected failure")


@pytest.mark.parametrize(
    ("module", "function", "make_failure"),
    [
        (case_files, "write_png", lambda original: _raise_after(original)),  # a slice image half way through the folder
        (case_files, "write_file", lambda original: _raise_instead),  # the first file of the folder
        (case_files, "fsync_dir", lambda original: _raise_instead),  # folder complete, not yet durable
        (case_schema, "insert_case_row", lambda original: _raise_after(original)),  # row inserted, commit not reached
        (case_files, "move_into_place", lambda original: _raise_instead),  # committed, rename of the folder fails
    ],
)
def test_a_save_failing_at_any_step_leaves_the_previous_state(store, monkeypatch, module, function,
                                                              make_failure) -> None:
    save_sample(store, "existing", copy_slice_images=True)
    before = snapshot(store.root)

    monkeypatch.setattr(module, function, make_failure(getattr(module, function)))
    with pytest.raises(CaseStoreError, match="injected failure"):  # as a store error: the window and CLI report it
        save_sample(store, "new", copy_slice_images=True)
    monkeypatch.undo()

    assert snapshot(store.root) == before
    assert snapshot(CaseStore(store.root).root) == before  # reopening finds nothing to settle


def test_a_report_attach_failing_after_the_commit_leaves_the_previous_state(store, monkeypatch, tmp_path) -> None:
    record = save_sample(store)
    (tmp_path / "r.pdf").write_bytes(b"%PDF")
    before = snapshot(store.root)
    monkeypatch.setattr(case_files, "move_into_place", _raise_instead)
    with pytest.raises(CaseStoreError, match=f"The report could not be attached to case {record.case_id}: injected"):
        store.attach_report(record.case_id, tmp_path / "r.pdf")
    assert snapshot(store.root) == before


# A separate process is killed (os._exit: no cleanup, no finally blocks) at one step of a save, delete or attach.
_CRASHING_PROCESS = """
import os, sys
from pathlib import Path
from core.cases import files as case_files, schema as case_schema, store as case_store
from tests import test_cases

step, root, report = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
store = case_store.CaseStore(root)

def die_after(original):
    def dying(*args, **kwargs):
        original(*args, **kwargs)
        os._exit(17)
    return dying

def die(*args, **kwargs):
    os._exit(17)

if step == "writing-folder":
    case_files.write_png = die_after(case_files.write_png)
elif step == "row-inserted":
    case_schema.insert_case_row = die_after(case_schema.insert_case_row)
elif step in ("save-committed", "attach-committed"):
    case_files.move_into_place = die
elif step == "delete-folder-moved":
    case_files.move_into_place = die_after(case_files.move_into_place)

if step.startswith("delete"):
    store.delete(store.list()[0].case_id)
elif step.startswith("attach"):
    store.attach_report(store.list()[0].case_id, report)
else:
    test_cases.save_sample(store, "crashing", copy_slice_images=True)
"""


def _run_crashing_process(step: str, root: Path, report: Path) -> None:
    completed = subprocess.run([sys.executable, "-c", _CRASHING_PROCESS, step, str(root), str(report)],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 17, completed.stderr


def _staged_entries(root: Path) -> list[Path]:
    return [p for p in (root / case_store.CASES_DIR_NAME).rglob(".*") if p.name.startswith((".tmp-", ".trash-"))]


@pytest.mark.parametrize("step", ["writing-folder", "row-inserted", "delete-folder-moved"])
def test_a_process_killed_before_the_commit_leaves_the_previous_state(store, tmp_path, step) -> None:
    save_sample(store, "existing", copy_slice_images=True)
    before = snapshot(store.root)

    _run_crashing_process(step, store.root, tmp_path / "unused.pdf")
    reopened = CaseStore(store.root)

    assert snapshot(reopened.root) == before
    assert _staged_entries(store.root) == []


def test_a_process_killed_after_the_save_commit_leaves_the_complete_new_case(store, tmp_path) -> None:
    existing = save_sample(store, "existing")
    _run_crashing_process("save-committed", store.root, tmp_path / "unused.pdf")

    reopened = CaseStore(store.root)  # settles the interrupted rename forward: the commit had happened

    newest = reopened.list()[0]
    assert [r.case_id for r in reopened.list()] == [newest.case_id, existing.case_id]
    assert_same(reopened.get(newest.case_id).study_result, make_study_result())
    assert _staged_entries(store.root) == []


def test_a_process_killed_after_the_attach_commit_leaves_the_report_attached(store, tmp_path) -> None:
    record = save_sample(store)
    report = tmp_path / "r.pdf"
    report.write_bytes(b"%PDF attach")
    _run_crashing_process("attach-committed", store.root, report)

    reports = CaseStore(store.root).reports(record.case_id)

    assert [(r.file_name, r.path.read_bytes()) for r in reports] == [("r.pdf", b"%PDF attach")]
    assert _staged_entries(store.root) == []


def test_opening_a_store_leaves_folders_it_did_not_stage_alone(store) -> None:
    (store.cases_dir / "user notes").mkdir()
    (store.cases_dir / ".tmp-orphan").mkdir()
    CaseStore(store.root)
    assert sorted(p.name for p in store.cases_dir.iterdir()) == ["user notes"]


# --- a data folder or disk the store cannot use --------------------------------------------------------------------
# Tests may run as root, whom chmod does not stop: the refusals are a file in the way (which stops root too) or
# injected where the file system would refuse.


def _denied(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


def test_a_data_folder_inside_a_file_is_reported_and_nothing_is_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a folder")
    root = blocker / "data"
    with pytest.raises(CaseStoreError) as raised:
        CaseStore(root)
    assert raised.value.path == root
    assert raised.value.reason == (f"The case store's folder {root} cannot be created: part of the path is a file, "
                                   "not a folder.")
    assert list(tmp_path.iterdir()) == [blocker] and blocker.read_bytes() == b"not a folder"


@pytest.mark.parametrize("blocked", [".", case_store.CASES_DIR_NAME])
def test_a_file_where_a_folder_of_the_store_belongs_is_reported_and_left_alone(tmp_path: Path, blocked: str) -> None:
    root = tmp_path / "data"
    folder = (root / blocked).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"someone's file")
    with pytest.raises(CaseStoreError) as raised:
        CaseStore(root)
    assert raised.value.path == root / blocked
    assert raised.value.reason == (f"The case store's folder {root / blocked} cannot be created: a file of that name "
                                   "is in the way.")
    assert folder.read_bytes() == b"someone's file"


def test_a_data_folder_the_user_may_not_create_is_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Path, "mkdir", _denied)
    with pytest.raises(CaseStoreError) as raised:
        CaseStore(tmp_path / "data")
    assert raised.value.reason == f"The case store's folder {tmp_path / 'data'} cannot be created: permission denied."


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="POSIX permissions, which do not stop root")
def test_a_data_folder_in_a_read_only_folder_is_reported(tmp_path: Path) -> None:
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o500)
    try:
        with pytest.raises(CaseStoreError, match="cannot be created: permission denied"):
            CaseStore(read_only / "data")
    finally:
        read_only.chmod(0o700)


def _refusing_staged_folders(error: OSError) -> Callable[..., None]:
    """Path.mkdir, refusing the staged folder of a new case as a read-only cases folder would."""
    original = Path.mkdir

    def mkdir(path: Path, *args, **kwargs) -> None:
        if path.name.startswith(case_files.STAGED_PREFIX):
            raise error
        original(path, *args, **kwargs)

    return mkdir


@pytest.mark.parametrize(("target", "error", "reason"), [
    ((Path, "mkdir"), PermissionError(errno.EACCES, "Permission denied"), "permission denied"),  # read-only folder
    ((case_files, "write_file"), OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    ((case_files, "write_png"), OSError(errno.EROFS, "Read-only file system"), "the disk is read-only"),
])
def test_a_save_the_disk_refuses_is_reported_and_leaves_the_previous_state(store, monkeypatch, target, error,
                                                                           reason) -> None:
    save_sample(store, "existing", copy_slice_images=True)
    before = snapshot(store.root)
    owner, name = target
    monkeypatch.setattr(owner, name, _refusing_staged_folders(error) if owner is Path else _raising(error))

    with pytest.raises(CaseStoreError) as raised:
        save_sample(store, "new", copy_slice_images=True)
    monkeypatch.undo()

    assert raised.value.path == store.cases_dir
    assert raised.value.reason == f"The case could not be saved in {store.cases_dir}: {reason}."
    assert snapshot(store.root) == before and _staged_entries(store.root) == []


def _raising(error: OSError) -> Callable[..., None]:
    def fail(*args, **kwargs) -> None:
        raise error

    return fail


def test_attaching_and_deleting_in_a_read_only_store_are_reported_and_change_nothing(store, monkeypatch,
                                                                                     tmp_path) -> None:
    record = save_sample(store, copy_slice_images=True)
    (tmp_path / "r.pdf").write_bytes(b"%PDF")
    before = snapshot(store.root)
    monkeypatch.setattr(case_files, "write_file", _denied)
    monkeypatch.setattr(case_files, "move_into_place", _denied)

    with pytest.raises(CaseStoreError) as attaching:
        store.attach_report(record.case_id, tmp_path / "r.pdf")
    with pytest.raises(CaseStoreError) as deleting:
        store.delete(record.case_id)

    assert attaching.value.reason == f"The report could not be attached to case {record.case_id}: permission denied."
    assert deleting.value.reason == (f"Case {record.case_id} could not be deleted from {store.cases_dir}: "
                                     "permission denied.")
    assert snapshot(store.root) == before


def test_leftovers_of_a_crash_that_cannot_be_removed_are_reported(store, monkeypatch) -> None:
    (store.cases_dir / ".tmp-orphan").mkdir()
    monkeypatch.setattr(case_files, "remove", _denied)
    with pytest.raises(CaseStoreError) as raised:
        CaseStore(store.root)
    assert raised.value.reason == (f"The changes interrupted in {store.cases_dir} cannot be finished or undone: "
                                   "permission denied.")
    monkeypatch.undo()
    CaseStore(store.root)  # once the folder may be written again, opening tidies up
    assert list(store.cases_dir.iterdir()) == []


@pytest.mark.parametrize(("error", "reason"), [
    (PermissionError(errno.EPERM, "Operation not permitted"), "permission denied"),
    (FileExistsError(errno.EEXIST, "File exists"), "a file of that name is in the way"),
    (OSError(errno.EIO, "Input/output error"), "input/output error"),  # rare: the system's words
    (OSError("injected failure"), "injected failure"),
])
def test_file_system_errors_are_explained_in_plain_words_without_the_path(error: OSError, reason: str) -> None:
    error.filename = "/data/cases/20260314-093100_Doe follow-up"
    assert os_error_reason(error) == reason


# --- schema --------------------------------------------------------------------------------------------------------

_V1_SCHEMA = (  # written out here, not taken from case_schema.MIGRATIONS, so the fixture stays what v1 really was
    """CREATE TABLE cases (id INTEGER PRIMARY KEY, name TEXT NOT NULL, folder TEXT NOT NULL UNIQUE,
       created_at TEXT NOT NULL, patient_id TEXT NOT NULL DEFAULT '', study_date TEXT NOT NULL DEFAULT '',
       verdict_label TEXT, notes TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE reports (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
       file_name TEXT NOT NULL, attached_at TEXT NOT NULL, UNIQUE (case_id, file_name))""",
    "PRAGMA user_version = 1",
)


@pytest.fixture
def v1_store_root(tmp_path: Path) -> Path:
    """A v1 store: its database made by the v1 schema, holding one case (folder made by the current writer)."""
    source = CaseStore(tmp_path / "source", clock=SteppingClock())
    record = save_sample(source, "from v1", notes="v1 notes")
    root = tmp_path / "v1"
    shutil.copytree(source.cases_dir, root / case_store.CASES_DIR_NAME)
    connection = sqlite3.connect(root / case_store.DATABASE_NAME)
    for statement in _V1_SCHEMA:
        connection.execute(statement)
    connection.execute(
        "INSERT INTO cases (id, name, folder, created_at, patient_id, study_date, verdict_label, notes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (7, record.name, record.folder.name, record.created_at, PATIENT_ID, "20240131", "glioma", "v1 notes"),
    )
    connection.commit()
    connection.close()
    return root


def _user_version(root: Path) -> int:
    connection = sqlite3.connect(root / case_store.DATABASE_NAME)
    try:
        return connection.execute("PRAGMA user_version").fetchone()[0]
    finally:
        connection.close()


def test_a_v1_database_is_migrated_to_the_current_schema_keeping_its_cases(v1_store_root: Path) -> None:
    assert case_schema.SCHEMA_VERSION == 2 and _user_version(v1_store_root) == 1

    store = CaseStore(v1_store_root)

    assert _user_version(v1_store_root) == case_schema.SCHEMA_VERSION
    (record,) = store.list("from v1")
    assert (record.case_id, record.anonymised, record.verdict_label) == (7, False, "glioma")
    case = store.get(7)
    assert case.notes == "v1 notes" and case.overlay_settings == OVERLAY
    expected = make_study_result().slice_results[0].prediction
    assert_same(case.study_result.slice_results[0].prediction.cams, expected.cams)
    assert save_sample(store, "after migration", anonymised=True).anonymised


def test_a_new_store_is_created_at_the_current_schema_version(store: CaseStore) -> None:
    assert _user_version(store.root) == case_schema.SCHEMA_VERSION


def test_a_database_from_a_newer_version_is_refused(store: CaseStore) -> None:
    connection = sqlite3.connect(store.database_path)
    connection.execute(f"PRAGMA user_version = {case_schema.SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(CaseStoreError, match="newer version"):
        CaseStore(store.root)


def damage_database(database: Path, how: str) -> None:
    """"garbage": the file is no SQLite database at all; "pages": the header is intact but the schema page is not."""
    if how == "garbage":
        database.write_bytes(b"\x8f not an SQLite database \x00" * 400)
        return
    data = bytearray(database.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # page 1 after the 100-byte file header holds the schema
    database.write_bytes(bytes(data))


def assert_damage_reported(error: CaseDatabaseError, database: Path) -> None:
    assert isinstance(error, CaseStoreError)  # so the desktop and the CLI show it as a message
    assert error.path == database
    assert f"The case database {database} is damaged (" in error.reason
    assert "Move it aside to start a new one; the cases saved in it cannot be read." in error.reason


@pytest.mark.parametrize("how", ["garbage", "pages"])
def test_a_damaged_database_is_reported_naming_the_file_and_what_to_do(store: CaseStore, how: str) -> None:
    save_sample(store)
    damage_database(store.database_path, how)

    for read in (store.list, lambda: store.list("follow-up"), lambda: store.record(1)):
        with pytest.raises(CaseDatabaseError) as raised:
            read()
        assert_damage_reported(raised.value, store.database_path)
    with pytest.raises(CaseDatabaseError) as raised:
        CaseStore(store.root)
    assert_damage_reported(raised.value, store.database_path)


def test_a_database_that_cannot_be_opened_is_reported_naming_the_file_and_what_to_do(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / case_store.DATABASE_NAME).mkdir(parents=True)  # a folder where the database file should be
    with pytest.raises(CaseDatabaseError) as raised:
        CaseStore(root)
    assert raised.value.path == root / case_store.DATABASE_NAME
    assert raised.value.reason == (f"The case database {root / case_store.DATABASE_NAME} cannot be opened or written "
                                   "(unable to open database file). Check that it is a file you may read and write.")


@pytest.mark.parametrize("how", ["garbage", "folder"])
def test_a_damaged_or_unopenable_lock_file_is_reported_and_deleting_it_is_the_cure(store: CaseStore, how) -> None:
    save_sample(store)
    lock = store.root / case_store.LOCK_NAME
    lock.unlink()
    if how == "garbage":
        lock.write_bytes(b"\x8f not an SQLite database \x00" * 400)
        problem = "is damaged (file is not a database)"
    else:
        lock.mkdir()
        problem = "cannot be opened or written (unable to open database file)"

    for use in (lambda: CaseStore(store.root), lambda: save_sample(store), lambda: store.delete(1)):
        with pytest.raises(CaseDatabaseError) as raised:
            use()
        assert raised.value.path == lock
        assert raised.value.reason == (f"The case store's lock file {lock} {problem}. It holds no cases: delete it, "
                                       "and a new one is made.")
    assert [record.case_id for record in store.list()] == [1]  # reading needs no lock

    if how == "garbage":
        lock.unlink()
    else:
        lock.rmdir()
    assert save_sample(CaseStore(store.root), "Second").case_id == 2


def test_a_lock_held_too_long_says_the_store_is_busy(store: CaseStore, monkeypatch) -> None:
    monkeypatch.setattr(case_store, "LOCK_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(store.root / case_store.LOCK_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another window or command, in the middle of a save
    try:
        with pytest.raises(CaseStoreError) as raised:
            save_sample(store)
    finally:
        holder.close()
    assert not isinstance(raised.value, CaseDatabaseError)  # nothing is damaged: trying again will work
    assert raised.value.reason == ("The case store is busy: another window or command has been changing it for over "
                                   "0.1 s. Try again when it has finished.")
    assert save_sample(store).case_id == 1


# --- PHI -----------------------------------------------------------------------------------------------------------


def test_an_anonymised_case_writes_no_patient_identity_anywhere(store: CaseStore, tmp_path: Path) -> None:
    record = save_sample(store, "Teaching case 12", notes="classic appearance", copy_slice_images=True,
                         anonymised=True)
    (tmp_path / "anon.pdf").write_bytes(b"%PDF anonymised report")
    store.attach_report(record.case_id, tmp_path / "anon.pdf")
    store.update_notes(record.case_id, "reviewed")
    case = store.get(record.case_id)

    written = [path for path in store.root.rglob("*") if path.is_file()]
    assert any(path.suffix == ".png" for path in written) and any(path.name == "case.json" for path in written)
    for path in written:
        content = path.read_bytes()
        for phi in PHI_STRINGS:
            for encoding in ("utf-8", "utf-16-le"):
                assert phi.encode(encoding).lower() not in content.lower(), (path, phi)
            assert phi.lower() not in path.name.lower()
    assert record.anonymised and record.patient_id == ""
    assert case.study.source_path == "" and case.study.study_instance_uid == "1.2.3.4"
    info = case.study_result.series_info
    assert (info.patient_name, info.patient_id, info.patient_birth_date) == ("", "", "")
    assert [s.slice_label for s in case.study_result.slice_results] == ["image 12", "image 13", "image 14"]


@pytest.mark.parametrize(("name", "notes"), [("Doe follow-up", ""), ("x", "patient johnathan doe"),
                                             ("PID-778899", ""), ("x", "born 1961-02-03")])
def test_an_anonymised_case_refuses_a_name_or_notes_naming_the_patient(store, name, notes) -> None:
    with pytest.raises(CaseStoreError, match="anonymised"):
        save_sample(store, name, notes=notes, anonymised=True)
    assert store.list() == []


# --- location ------------------------------------------------------------------------------------------------------


def test_the_data_directory_follows_the_environment_override(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(case_store.DATA_DIR_ENV, str(tmp_path / "override"))
    assert CaseStore().root == tmp_path / "override"
    monkeypatch.delenv(case_store.DATA_DIR_ENV)
    assert "BrainMRIAssist" in str(case_store.default_data_dir())


def test_exported_case_folder_has_notes_and_reports_and_never_overwrites(store: CaseStore, tmp_path: Path) -> None:
    record = save_sample(store, notes="to share")
    (tmp_path / "r.pdf").write_bytes(b"%PDF")
    store.attach_report(record.case_id, tmp_path / "r.pdf")

    exported = store.export(record.case_id, tmp_path / "out")

    import json
    document = json.loads((exported / "case.json").read_text(encoding="utf-8"))
    assert document["notes"] == "to share" and document["reports"] == ["reports/r.pdf"]
    assert (exported / "reports" / "r.pdf").read_bytes() == b"%PDF"
    with pytest.raises(CaseStoreError, match="already exists"):
        store.export(record.case_id, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [exported.name]


def test_an_anonymised_case_keeps_slice_errors_without_their_path_and_the_series_length(store: CaseStore) -> None:
    result = make_study_result()
    unreadable = result.slice_results[2]
    result.slice_results[2] = dataclasses.replace(unreadable, error=f"truncated pixel data in {unreadable.source_path}")
    result = dataclasses.replace(result, series_length=30)
    record = save_sample(store, "Teaching case 13", study_result=result, anonymised=True)
    saved = store.get(record.case_id).study_result
    assert saved.slice_results[2].error == "truncated pixel data in image 14"
    assert saved.series_length == 30
