"""Fixtures for driving the real MainWindow offscreen (QT_QPA_PLATFORM=offscreen is set by tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from core.paths import sample_study_dir
from desktop.main_window import MainWindow
from desktop.theme import apply_dark_theme

LOAD_TIMEOUT_MS = 60_000
# The first analysis imports TensorFlow and builds the network in the worker; the CPU is small and shared.
ANALYSIS_TIMEOUT_MS = 300_000


@pytest.fixture(scope="session", autouse=True)
def themed_app(qapp: QApplication) -> QApplication:
    apply_dark_theme(qapp)
    return qapp


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, qapp: QApplication) -> None:
    """Recent-study lists go to a per-test INI file, never the user's real settings."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    qapp.setOrganizationName("BrainMRI-tests")
    qapp.setApplicationName("gui-tests")


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[..., MainWindow]]:
    """Builds shown MainWindows (optionally on another model folder; the model is not preloaded unless asked);
    afterwards stops their workers and model processes."""
    windows: list[MainWindow] = []

    def make(model_dir: Path | None = None, preload_model: bool = False) -> MainWindow:
        window = MainWindow(model_dir, preload_model=preload_model)  # most tests need no model helper at all
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.stop_background_work()


@pytest.fixture
def tiny_window(make_window, tiny_model_dir: Path) -> MainWindow:
    """A window on the tiny random-weight model of tests/model_fixtures.py (modules using it load that plugin)."""
    return make_window(tiny_model_dir)


def open_and_wait(qtbot, window: MainWindow, *paths: Path) -> None:
    with qtbot.waitSignal(window.studyLoaded, timeout=LOAD_TIMEOUT_MS):
        window.open_paths(list(paths))


def wait_for_analysis_set(qtbot, window: MainWindow) -> None:
    """The load worker chooses the central slices just after the study shows, then ends (Cancel goes off); under
    load that end can come well after the choice, so both are waited for."""
    qtbot.waitUntil(lambda: bool(window.analysis_set()) and not window.cancel_action.isEnabled(),
                    timeout=LOAD_TIMEOUT_MS)


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """The bundled sample JPEGs (without their README), so nothing is skipped."""
    folder = tmp_path / "sample"
    folder.mkdir()
    for jpeg in sorted(sample_study_dir().glob("*.jpg")):
        shutil.copy(jpeg, folder / jpeg.name)
    return folder


def wait_shown(qtbot, viewer) -> None:
    """Until the viewer has painted its current slice: on a cache miss a worker decodes it first (`sliceShown`)."""
    qtbot.waitUntil(lambda: not viewer.slice_loading, timeout=LOAD_TIMEOUT_MS)
