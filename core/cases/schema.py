"""The case database: its schema and migrations (`PRAGMA user_version`), the rows it holds and the records they
become, the search function its queries call, and what its SQLite errors mean for the user.

The case store (`core.cases.store`) opens the connections and decides when to write; everything here takes the
connection it works on.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import CaseDatabaseError, CaseStoreError
from core.model.labels import display_name

# MIGRATIONS[n] takes a database from schema version n to n + 1; `PRAGMA user_version` records where it stands.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # v1: the case index and the reports attached to each case
        """CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            folder TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            patient_id TEXT NOT NULL DEFAULT '',
            study_date TEXT NOT NULL DEFAULT '',
            verdict_label TEXT,
            notes TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
            file_name TEXT NOT NULL,
            attached_at TEXT NOT NULL,
            UNIQUE (case_id, file_name)
        )""",
    ),
    (  # v2: anonymised cases are marked, so lists can say which cases carry no patient identity
        "ALTER TABLE cases ADD COLUMN anonymised INTEGER NOT NULL DEFAULT 0",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

#: The columns of `cases` that make a `CaseRecord`, in the order `record_from_row` reads them.
RECORD_COLUMNS = "id, name, folder, created_at, patient_id, study_date, verdict_label, anonymised"
#: SQLite's primary result codes for a damaged file: SQLITE_CORRUPT (pages inconsistent) and SQLITE_NOTADB (not an
#: SQLite database at all). Extended codes (e.g. SQLITE_CORRUPT_INDEX) carry the primary code in their low byte.
_SQLITE_DAMAGE_CODES = frozenset({11, 26})
#: ... and for a file that cannot be opened or written: SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN
#: (e.g. a folder, or a file without read and write permission, where the file should be).
_SQLITE_UNUSABLE_CODES = frozenset({3, 8, 10, 14})
_SQLITE_BUSY = 5  # another connection held the lock for longer than the timeout


@dataclass(frozen=True)
class CaseRecord:
    """One line of the case list. `created_at` is ISO 8601 local time with its UTC offset; `verdict_label` is None
    when the analysis had no study-level prediction."""

    case_id: int
    name: str
    folder: Path
    created_at: str
    patient_id: str
    study_date: str
    verdict_label: str | None
    anonymised: bool


@dataclass(frozen=True)
class AttachedReport:
    file_name: str
    path: Path
    attached_at: str


def record_from_row(row: tuple, cases_dir: Path) -> CaseRecord:
    """The record of a row selected as `RECORD_COLUMNS`; its folder lies in `cases_dir`."""
    case_id, name, folder, created_at, patient_id, study_date, verdict_label, anonymised = row
    return CaseRecord(case_id, name, cases_dir / folder, created_at, patient_id, study_date, verdict_label,
                      bool(anonymised))


# --- Schema ------------------------------------------------------------------------------------------------------


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def migrate(connection: sqlite3.Connection, database_path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, one transaction per migration so an interrupted upgrade resumes."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CaseStoreError(database_path, "the case database was written by a newer version of the application")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with transaction(connection):
            for statement in MIGRATIONS[target - 1]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {target}")


# --- Rows --------------------------------------------------------------------------------------------------------


def insert_case_row(connection: sqlite3.Connection, row: Mapping[str, object]) -> int:
    columns = ", ".join(row)
    placeholders = ", ".join(f":{column}" for column in row)
    return _inserted_id(connection.execute(f"INSERT INTO cases ({columns}) VALUES ({placeholders})", row))


def insert_report_row(connection: sqlite3.Connection, case_id: int, file_name: str, attached_at: str) -> int:
    return _inserted_id(connection.execute(
        "INSERT INTO reports (case_id, file_name, attached_at) VALUES (?, ?, ?)", (case_id, file_name, attached_at)
    ))


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT added (`lastrowid` is None only for a cursor that inserted nothing)."""
    if cursor.lastrowid is None:
        raise sqlite3.DatabaseError("the INSERT added no row")
    return cursor.lastrowid


# --- Search ------------------------------------------------------------------------------------------------------


def iso_date(dicom_date: str) -> str:
    """"20240131" → "2024-01-31"; anything else unchanged."""
    if re.fullmatch(r"\d{8}", dicom_date):
        return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"
    return dicom_date


def case_matches(query: str, *fields: str | None) -> int:
    """SQL function: every whitespace-separated term of `query` occurs, case-insensitively, in one of the fields."""
    searchable = [field for field in fields if field]
    searchable += [iso_date(field) for field in searchable]  # a DICOM study date is also found as YYYY-MM-DD
    # A result is also found as listed ("No tumour"); other fields are not repeated.
    searchable += [name for field in searchable if (name := display_name(field)) != field]
    haystack = "\n".join(searchable).casefold()
    return int(all(term in haystack for term in query.casefold().split()))


# --- SQLite errors explained -------------------------------------------------------------------------------------


def _primary_code(error: sqlite3.DatabaseError) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)  # absent on errors raised by the sqlite3 module itself
    return None if code is None else code & 0xFF


def database_problem(database_path: Path, error: sqlite3.DatabaseError) -> CaseStoreError | None:
    """What to tell the user when the database file is damaged or cannot be opened; None for other errors."""
    code = _primary_code(error)
    if code in _SQLITE_DAMAGE_CODES:
        return CaseDatabaseError(database_path, f"The case database {database_path} is damaged ({error}). Move it "
                                                "aside to start a new one; the cases saved in it cannot be read.")
    if code in _SQLITE_UNUSABLE_CODES:
        return CaseDatabaseError(database_path, f"The case database {database_path} cannot be opened or written "
                                                f"({error}). Check that it is a file you may read and write.")
    return None


def lock_problem(lock_path: Path, timeout_s: float, error: sqlite3.DatabaseError) -> CaseStoreError | None:
    """What to tell the user when the writers' lock file (an empty SQLite database, taken for `timeout_s` at most)
    is damaged, cannot be opened or stays taken; None for other errors. The lock file holds no cases, so deleting it
    loses nothing: the next writer makes a new one."""
    code = _primary_code(error)
    if code in _SQLITE_DAMAGE_CODES:
        return CaseDatabaseError(lock_path, f"The case store's lock file {lock_path} is damaged ({error}). It holds "
                                            "no cases: delete it, and a new one is made.")
    if code in _SQLITE_UNUSABLE_CODES:
        return CaseDatabaseError(lock_path, f"The case store's lock file {lock_path} cannot be opened or written "
                                            f"({error}). It holds no cases: delete it, and a new one is made.")
    if code == _SQLITE_BUSY:
        return CaseStoreError(lock_path, f"The case store is busy: another window or command has been changing it "
                                         f"for over {timeout_s:g} s. Try again when it has finished.")
    return None


@contextmanager
def explaining(problem: Callable[[sqlite3.DatabaseError], CaseStoreError | None]) -> Iterator[None]:
    """Turn the SQLite errors `problem` explains, on opening or in any later statement, into the store error it
    returns (naming the file and what to do); other SQLite errors pass unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        explained = problem(error)
        if explained is None:
            raise
        raise explained from error
