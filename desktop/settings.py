"""What the application keeps between sessions in QSettings besides the Recent list: the user's preferences (the
institution printed in report headers, the reports' page size, how many central slices Analyse uses) and the folder
of the last export, which the next export proposes.

They are read once when the window is built and kept in memory. Writing the settings file can wait for the disk
(measured up to 100 ms), so the window writes them, and the Recent list, from workers (`SettingsWriter`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QSettings

from core.analysis.selection import DEFAULT_SLICE_COUNT
from core.output.report import PAGE_SIZE_NAMES
from desktop.workers import BackgroundJobs, run_task

log = logging.getLogger(__name__)

INSTITUTION_KEY = "report/institution"
PAGE_SIZE_KEY = "report/page_size"
EXPORT_FOLDER_KEY = "export/last_folder"
SLICE_COUNT_KEY = "analysis/slice_count"
#: The most central slices the preference offers; more is "Analyse all slices".
MAX_SLICE_COUNT = 999


@dataclass(frozen=True)
class Preferences:
    institution: str = ""  # "" prints "Institution not set" in the report header
    page_size: str = PAGE_SIZE_NAMES[0]  # of the PDF reports (the CLI's --page-size)
    export_folder: str = ""  # "" until the first export
    slice_count: int = DEFAULT_SLICE_COUNT  # central slices chosen per series for Analyse (the CLI's --slices)

    def values(self) -> dict[str, object]:
        """The settings entries that store these preferences."""
        return {INSTITUTION_KEY: self.institution, PAGE_SIZE_KEY: self.page_size,
                EXPORT_FOLDER_KEY: self.export_folder, SLICE_COUNT_KEY: self.slice_count}


def read_preferences() -> Preferences:
    settings = QSettings()
    page_size = str(settings.value(PAGE_SIZE_KEY, PAGE_SIZE_NAMES[0]))
    return Preferences(institution=str(settings.value(INSTITUTION_KEY, "") or ""),
                       page_size=page_size if page_size in PAGE_SIZE_NAMES else PAGE_SIZE_NAMES[0],
                       export_folder=str(settings.value(EXPORT_FOLDER_KEY, "") or ""),
                       slice_count=_slice_count(settings.value(SLICE_COUNT_KEY, DEFAULT_SLICE_COUNT)))


def _slice_count(value: object) -> int:
    """A stored slice count, or the default when the file holds something else (edited by hand, damaged)."""
    try:
        count = int(value)
    except (TypeError, ValueError):
        return DEFAULT_SLICE_COUNT
    return count if 1 <= count <= MAX_SLICE_COUNT else DEFAULT_SLICE_COUNT


def store_settings(values: Mapping[str, object]) -> None:
    """Write `values` to the settings file now; OSError when it cannot be written."""
    settings = QSettings()  # one per call: QSettings objects must not be shared between threads
    for key, value in values.items():
        settings.setValue(key, value)
    settings.sync()
    if settings.status() != QSettings.Status.NoError:
        raise OSError(f"{settings.fileName()}: {settings.status().name}")


class SettingsWriter:
    """Writes settings off the UI thread, one worker per change. The values are read under a lock when the worker
    runs, so when the writers of quick successive changes finish in any order, the last one stores the newest."""

    def __init__(self, jobs: BackgroundJobs) -> None:
        self._jobs = jobs
        self._lock = threading.Lock()

    def store(self, values: Callable[[], Mapping[str, object]], what: str) -> None:
        """Write `values()` in a worker; a failure is logged, naming `what` ("the recent studies")."""
        def write() -> None:
            with self._lock:
                store_settings(values())

        run_task(self._jobs, write, failed=lambda reason: log.warning("Could not store %s: %s", what, reason))
