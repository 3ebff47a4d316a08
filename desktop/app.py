"""Entry point `brainmri`: `python -m desktop.app [PATH]` opens PATH (file or folder), else the bundled sample study
on first run. TensorFlow is never imported in this process: the first analysis starts the model's helper process
(`core.model.remote`)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from core.logging_setup import APP_NAME, configure_logging, install_crash_handler, quiet_third_party_logging
from core.paths import resources_dir, sample_study_dir
from core.selftest import SelfTestAction
from desktop.platform_check import DesktopUnavailableError, check_desktop_platform

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

ORGANISATION = "BrainMRI"


class CrashNotifier(QObject):
    """Carries crash messages from any thread to a message box on the UI thread (a queued signal to this object)."""

    message = Signal(str)

    def __init__(self, window: QWidget) -> None:
        super().__init__()
        self._window = window
        self.message.connect(self._show)

    @Slot(str)
    def _show(self, text: str) -> None:
        QMessageBox.critical(self._window, APP_NAME, text)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="brainmri", description=f"{APP_NAME}: offline brain MRI decision support")
    parser.add_argument("path", nargs="?", type=Path, help="a DICOM/image file or a folder to open")
    parser.add_argument("--self-test", action=SelfTestAction)  # headless: runs before any Qt object exists
    return parser.parse_args(argv)


def initial_paths(argument: Path | None, recent: Sequence[str]) -> list[Path]:
    """What to open at start: the argument; else, when no recent study still exists (first run, or settings left
    from another installation or a removed study), the sample study; else nothing (File → Recent has them)."""
    if argument is not None:
        return [argument]
    if not any(Path(entry).exists() for entry in recent) and sample_study_dir().is_dir():
        return [sample_study_dir()]
    return []


def apply_app_identity(app: QApplication) -> None:
    """Names (where QSettings keeps the settings), settings format and the window icon (installers/draw_icons.py)."""
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APP_NAME)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "brainmri.png")))


def start(argv: Sequence[str], model_dir: Path | None = None, preload_model: bool = True
          ) -> tuple[QApplication, MainWindow]:
    """Everything `main` does before the event loop: the window is shown and the initial study is queued to open
    on the loop's first turn (so the window paints and is usable before any file is read). `model_dir` replaces
    the shipped model folder (screenshots and benchmarks with a test model); `preload_model=False` leaves the model
    to the first Analyse (`benchmarks/bench_first_result.py` measures what preloading saves)."""
    arguments = parse_arguments(argv)
    quiet_third_party_logging()  # before QApplication and TensorFlow read their logging settings
    log_path = configure_logging()
    from desktop.main_window import MainWindow
    from desktop.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_app_identity(app)
    apply_dark_theme(app)
    window = MainWindow(model_dir, preload_model)
    notifier = CrashNotifier(window)
    notifier.setParent(app)
    install_crash_handler(show_message=notifier.message.emit, log_path=log_path)
    # The ~80,000 objects built so far (modules, Qt wrappers) live as long as the app. Left to the collector, each
    # full collection walks them all with the interpreter lock held: 50-80 ms, a visible freeze when it happens in a
    # worker while a study loads. Frozen, they are skipped (measured by benchmarks/bench_ui_stall.py).
    gc.collect()
    gc.freeze()

    # On a screen smaller than the preferred size, fit it: the results panel must never be cut off.
    window.resize(window.size().boundedTo(window.screen().availableGeometry().size()))
    window.show()
    paths = initial_paths(arguments.path, window.recent_studies())
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths(paths))
    return app, window


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    parse_arguments(arguments)  # --help and --self-test need no window
    try:
        check_desktop_platform()
    except DesktopUnavailableError as error:
        print(f"{APP_NAME}: {error}", file=sys.stderr)
        return 1
    app, _window = start(arguments)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
