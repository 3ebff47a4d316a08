"""Case history: save an analysis as a named case, then list, search, reopen (exactly as analysed), annotate, attach
reports to, export and delete it.

Storage under the user's data directory (`default_data_dir()`, or the `root` a caller passes):

    cases.sqlite3                       the index: name, date, search columns, notes, attached reports
                                        (`core.cases.schema`)
    cases.lock                          the writers' inter-process lock
    cases/<YYYYmmdd-HHMMSS>_<name>/     one folder per case, holding what was analysed (`core.cases.files`)

Errors: everything that fails raises `CaseStoreError` (or a subclass) naming the file or folder and the reason,
never a bare OSError: a data folder that cannot be created, a read-only or full disk and a damaged case are all
problems the window and the CLI report as store errors.

Atomicity: the database commit is the one moment at which a change happens. Files are first staged beside their
final place under a `.tmp-` name (deletion: renamed to `.trash-`), then the row is committed, then the staged name is
renamed. When a store opens, staged leftovers are moved into place if the committed database refers to them and
removed otherwise, so a crash at any point leaves either the previous state or the complete new one. Writers take an
inter-process lock, so the app and the CLI can share one store.

The result inside `case.json` and `cams.npz` is encoded by `core.output.codec`, which the JSON export shares; a case
must reopen losslessly, so that encoding keeps opening the cases earlier versions saved.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import platformdirs

from core.analysis.overlay import OverlaySettings
from core.analysis.results import StudyResult
from core.cases import files, schema
from core.cases.files import PRIVATE_DIR_MODE, REPORTS_DIR_NAME, STAGED_PREFIX, TRASH_PREFIX, StudyReference
from core.cases.schema import RECORD_COLUMNS, AttachedReport, CaseRecord
from core.errors import CaseNotFoundError, CaseStoreError, os_error_reason
from core.io.load import SeriesInfo
from core.output.anonymise import IDENTIFYING_FIELDS, slice_error, slice_name, without_identifiers

APP_NAME = "BrainMRIAssist"
DATA_DIR_ENV = "BRAINMRI_DATA_DIR"
DATABASE_NAME = "cases.sqlite3"
LOCK_NAME = "cases.lock"
CASES_DIR_NAME = "cases"
LOCK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Case:
    """Everything needed to reopen a case as it was analysed. Model name, version and weights sha256 are in
    `study_result`; a slice's `display` is None unless the case kept copies of the slice images."""

    record: CaseRecord
    study: StudyReference
    study_result: StudyResult
    overlay_settings: OverlaySettings
    notes: str
    reports: tuple[AttachedReport, ...]


def default_data_dir() -> Path:
    """$BRAINMRI_DATA_DIR when set (tests, portable installs), else the platform's per-user data directory."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


# --- PHI ---------------------------------------------------------------------------------------------------------


def _phi_strings(info: SeriesInfo | None) -> list[str]:
    """The patient's name (whole and its parts), ID and birth date, casefolded, as they could appear in free text."""
    if info is None:
        return []
    values = [getattr(info, field) for field in IDENTIFYING_FIELDS] + [schema.iso_date(info.patient_birth_date)]
    values += [part for part in re.split(r"[\^\s,]+", info.patient_name) if len(part) >= 3]
    return [value.strip().casefold() for value in values if value.strip()]


def _refuse_phi_in_text(info: SeriesInfo | None, **texts: str) -> None:
    phi = _phi_strings(info)
    for what, text in texts.items():
        if any(value in text.casefold() for value in phi):
            raise CaseStoreError(None, f"The case {what} mentions the patient's name, ID or birth date, "
                                       "which an anonymised case must not carry.")


def _without_phi(result: StudyResult) -> StudyResult:
    """The result with patient identity removed as core.output.anonymise defines it (reports name slices the same way);
    source paths go too, since folders are often named after the patient."""
    info = None if result.series_info is None else without_identifiers(result.series_info)
    slices = [
        dataclasses.replace(slice_result, slice_label=slice_name(slice_result, anonymise=True), source_path=None,
                            error=slice_error(slice_result, anonymise=True))  # an error can quote the file's path
        for slice_result in result.slice_results
    ]
    return dataclasses.replace(result, series_info=info, slice_results=slices)


# --- The store ---------------------------------------------------------------------------------------------------


def _no_such_case(case_id: int) -> CaseNotFoundError:
    return CaseNotFoundError(None, f"There is no case {case_id}.")


def _local_now() -> datetime:
    return datetime.now().astimezone()


@contextmanager
def _file_system_errors(path: Path, failure: str) -> Iterator[None]:
    """Report an OSError (permissions, a read-only or full disk, a file where a folder should be) as the store error
    `failure: reason`, naming `path`. By then the failed step has undone what it staged (its `except BaseException`
    blocks run first), so the store is as it was."""
    try:
        yield
    except OSError as error:
        raise CaseStoreError(path, f"{failure}: {os_error_reason(error)}.") from error


def _create_folder(folder: Path, parents: bool = False) -> None:
    """Create one of the store's folders (owner-only) unless it exists."""
    with _file_system_errors(folder, f"The case store's folder {folder} cannot be created"):
        folder.mkdir(mode=PRIVATE_DIR_MODE, parents=parents, exist_ok=True)


class CaseStore:
    """The case history in `root` (default: `default_data_dir()`). Safe to use from several threads and processes:
    every call opens its own connection, and writers serialise on an inter-process lock."""

    def __init__(self, root: Path | None = None, clock: Callable[[], datetime] = _local_now) -> None:
        self.root = Path(root) if root is not None else default_data_dir()
        self.cases_dir = self.root / CASES_DIR_NAME
        self.database_path = self.root / DATABASE_NAME
        self._clock = clock
        _create_folder(self.root, parents=True)
        _create_folder(self.cases_dir)
        with self._exclusive_writer(), self._connection() as connection:
            schema.migrate(connection, self.database_path)
            failure = f"The changes interrupted in {self.cases_dir} cannot be finished or undone"
            with _file_system_errors(self.cases_dir, failure):  # leftovers of a crash, in a folder now read-only
                self._settle_interrupted_writes(connection)

    # -- public API

    def save(
        self,
        name: str,
        study_result: StudyResult,
        study_source: Path | str | None,
        overlay_settings: OverlaySettings,
        notes: str = "",
        copy_slice_images: bool = False,
        anonymised: bool = False,
    ) -> CaseRecord:
        """Save an analysis as a new case named `name` (the folder gets a safe version of it plus the date and time).
        `study_source` is the file or folder the study was loaded from (`Study.source`). `copy_slice_images` keeps
        PNG copies of the analysed display images with the case (its folder and `export` carry them); reopening in
        the window still opens the original study, to show the results on its slices. `anonymised`
        drops patient name, ID, birth date, source path and file names; a name or notes naming the patient raise."""
        if not name.strip():
            raise CaseStoreError(None, "A case needs a name.")
        if anonymised:
            _refuse_phi_in_text(study_result.series_info, name=name, notes=notes)
            study_result, study_source = _without_phi(study_result), None
        created_at = self._clock()
        info = study_result.series_info or SeriesInfo()
        document, cams = files.case_document(name, created_at, study_result, study_source, overlay_settings,
                                             copy_slice_images, anonymised)
        images = {
            file_name: slice_result.display
            for file_name, slice_result in zip(document["slice_images"], study_result.slice_results)
            if file_name is not None and slice_result.display is not None  # a name is given only to a decoded slice
        }
        row = {
            "name": name,
            "created_at": document["created_at"],
            "patient_id": info.patient_id,
            "study_date": info.study_date,
            "verdict_label": study_result.verdict_label,
            "notes": notes,
            "anonymised": int(anonymised),
        }
        failure = f"The case could not be saved in {self.cases_dir}"
        with self._exclusive_writer(), _file_system_errors(self.cases_dir, failure):
            folder = self._free_folder_name(created_at, name)
            staged = self.cases_dir / f"{STAGED_PREFIX}{folder}"
            try:
                files.write_case_folder(staged, document, cams, images)
            except BaseException:
                files.remove(staged)
                raise
            case_id = self._commit_then_move(
                staged,
                self.cases_dir / folder,
                record=lambda connection: schema.insert_case_row(connection, {**row, "folder": folder}),
                unrecord=lambda connection, row_id: connection.execute("DELETE FROM cases WHERE id = ?", (row_id,)),
            )
        return self.record(case_id)

    def list(self, query: str = "") -> list[CaseRecord]:
        """Cases, newest first; with a query, those where every word of it occurs (case-insensitively) in the name,
        patient ID, saved date/time, study date (YYYYMMDD or YYYY-MM-DD) or result label."""
        with self._connection() as connection:
            connection.create_function("case_matches", -1, schema.case_matches, deterministic=True)
            rows = connection.execute(
                f"SELECT {RECORD_COLUMNS} FROM cases "
                "WHERE case_matches(?, name, patient_id, created_at, study_date, verdict_label) ORDER BY id DESC",
                (query,),
            ).fetchall()
        return [schema.record_from_row(row, self.cases_dir) for row in rows]

    def record(self, case_id: int) -> CaseRecord:
        with self._connection() as connection:
            row = connection.execute(f"SELECT {RECORD_COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise _no_such_case(case_id)
        return schema.record_from_row(row, self.cases_dir)

    def get(self, case_id: int) -> Case:
        """The case exactly as it was analysed: results, CAMs, overlay settings, (copied) images, notes, reports."""
        record = self.record(case_id)
        try:
            study, study_result, overlay_settings = files.read_case_folder(record.folder)
        except CaseStoreError as error:  # the reason names the file; the user also needs to know which case it is
            raise CaseStoreError(error.path, f"Case {case_id} cannot be reopened. {error.reason}") from error
        return Case(
            record=record,
            study=study,
            study_result=study_result,
            overlay_settings=overlay_settings,
            notes=self.notes(case_id),
            reports=tuple(self.reports(case_id)),
        )

    def notes(self, case_id: int) -> str:
        with self._connection() as connection:
            row = connection.execute("SELECT notes FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise _no_such_case(case_id)
        return row[0]

    def reports(self, case_id: int) -> builtins.list[AttachedReport]:  # `list` here is the method above
        folder = self.record(case_id).folder / REPORTS_DIR_NAME
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT file_name, attached_at FROM reports WHERE case_id = ? ORDER BY id", (case_id,)
            ).fetchall()
        return [AttachedReport(file_name, folder / file_name, attached_at) for file_name, attached_at in rows]

    def update_notes(self, case_id: int, notes: str) -> None:
        with self._connection() as connection, schema.transaction(connection):
            changed = connection.execute("UPDATE cases SET notes = ? WHERE id = ?", (notes, case_id)).rowcount
        if not changed:
            raise _no_such_case(case_id)

    def attach_report(self, case_id: int, file: Path) -> AttachedReport:
        """Copy an exported report into the case's folder (under a safe, unique name) and list it with the case."""
        source = Path(file)
        if not source.is_file():
            raise CaseStoreError(source, "The report file does not exist.")
        failure = f"The report could not be attached to case {case_id}"
        with self._exclusive_writer(), _file_system_errors(self.cases_dir, failure):
            reports_dir = self.record(case_id).folder / REPORTS_DIR_NAME
            reports_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            listed = {report.file_name for report in self.reports(case_id)}
            file_name = files.first_free(files.safe_file_name(source.name),
                                    lambda candidate: candidate in listed or (reports_dir / candidate).exists())
            staged = reports_dir / f"{STAGED_PREFIX}{file_name}"
            attached_at = self._clock().isoformat(timespec="seconds")
            try:
                with source.open("rb") as original:
                    files.write_file(staged, lambda destination: shutil.copyfileobj(original, destination))
            except BaseException:
                files.remove(staged)
                raise
            self._commit_then_move(
                staged,
                reports_dir / file_name,
                record=lambda connection: schema.insert_report_row(connection, case_id, file_name, attached_at),
                unrecord=lambda connection, row_id: connection.execute("DELETE FROM reports WHERE id = ?", (row_id,)),
            )
        return AttachedReport(file_name, reports_dir / file_name, attached_at)

    def delete(self, case_id: int) -> None:
        """Remove the case's row and folder (asking the user first is the caller's business)."""
        failure = f"Case {case_id} could not be deleted from {self.cases_dir}"
        with self._exclusive_writer(), _file_system_errors(self.cases_dir, failure):
            folder = self.record(case_id).folder
            trash = folder.with_name(f"{TRASH_PREFIX}{folder.name}")
            if folder.exists():
                files.move_into_place(folder, trash)
            try:
                with self._connection() as connection, schema.transaction(connection):
                    connection.execute("DELETE FROM reports WHERE case_id = ?", (case_id,))
                    connection.execute("DELETE FROM cases WHERE id = ?", (case_id,))
            except BaseException:
                if trash.exists():
                    files.move_into_place(trash, folder)
                raise
            files.remove(trash)

    def export(self, case_id: int, destination_dir: Path) -> Path:
        """Copy the case folder into `destination_dir` (never overwriting), its case.json completed with the notes and
        the list of reports; returns the new folder."""
        with self._exclusive_writer():
            record = self.record(case_id)
            destination = Path(destination_dir) / record.folder.name
            if destination.exists():
                raise CaseStoreError(destination, "The export destination already exists.")
            staged = destination.with_name(f"{STAGED_PREFIX}{destination.name}")
            try:
                shutil.copytree(record.folder, staged)
                document = {**files.read_case_file(record.folder), "notes": self.notes(case_id),
                            "reports": [f"{REPORTS_DIR_NAME}/{report.file_name}" for report in self.reports(case_id)]}
                files.write_case_file(staged, document)
                files.move_into_place(staged, destination)
            except OSError as error:
                files.remove(staged)
                reason = f"The case could not be exported: {os_error_reason(error)}."
                raise CaseStoreError(destination, reason) from error
            except BaseException:
                files.remove(staged)
                raise
        return destination

    # -- internals

    def _commit_then_move(
        self,
        staged: Path,
        final: Path,
        record: Callable[[sqlite3.Connection], int],
        unrecord: Callable[[sqlite3.Connection, int], object],
    ) -> int:
        """Commit the row, then rename the staged files into place. The commit is the point of no return for a crash
        (start-up rolls the rename forward); if the rename itself fails, the row is withdrawn and the error raised."""
        try:
            with self._connection() as connection, schema.transaction(connection):
                row_id = record(connection)
        except BaseException:
            files.remove(staged)
            raise
        try:
            files.move_into_place(staged, final)
        except BaseException:
            with self._connection() as connection, schema.transaction(connection):
                unrecord(connection, row_id)
            files.remove(staged)
            raise
        return row_id

    def _free_folder_name(self, created_at: datetime, name: str) -> str:
        with self._connection() as connection:
            used = {folder for (folder,) in connection.execute("SELECT folder FROM cases")}
        return files.first_free(
            f"{created_at:%Y%m%d-%H%M%S}_{files.safe_name(name)}",
            lambda candidate: candidate in used or any(
                (self.cases_dir / f"{prefix}{candidate}").exists() for prefix in ("", STAGED_PREFIX, TRASH_PREFIX)
            ),
        )

    def _settle_interrupted_writes(self, connection: sqlite3.Connection) -> None:
        folders = {folder for (folder,) in connection.execute("SELECT folder FROM cases")}
        reports: dict[str, set[str]] = {folder: set() for folder in folders}
        for folder, file_name in connection.execute(
            "SELECT cases.folder, reports.file_name FROM reports JOIN cases ON cases.id = reports.case_id"
        ):
            reports[folder].add(file_name)
        files.settle_staged(self.cases_dir, folders)
        for folder, file_names in reports.items():
            reports_dir = self.cases_dir / folder / REPORTS_DIR_NAME
            if reports_dir.is_dir():
                files.settle_staged(reports_dir, file_names)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own; a damaged or unusable database file raises `CaseDatabaseError` wherever it is
        noticed."""
        with schema.explaining(functools.partial(schema.database_problem, self.database_path)):
            connection = sqlite3.connect(self.database_path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
            try:
                connection.execute("PRAGMA foreign_keys = ON")
                yield connection
            finally:
                connection.close()

    @contextmanager
    def _exclusive_writer(self) -> Iterator[None]:
        """Serialise writers across processes, so one store's start-up never settles another's in-flight save. The
        lock is an exclusive transaction on a separate empty SQLite file: portable, and released if the process
        dies."""
        lock_path = self.root / LOCK_NAME
        # Only taking the lock is explained as the lock's problem: errors of the work done under it are the database's.
        with schema.explaining(functools.partial(schema.lock_problem, lock_path, LOCK_TIMEOUT_S)):
            lock = sqlite3.connect(lock_path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
            try:
                lock.execute("BEGIN EXCLUSIVE")
            except BaseException:
                lock.close()
                raise
        try:
            yield
        finally:
            lock.close()
