"""Application logging: quiet third-party noise, a rotating log file, a PHI guard and a crash handler.

PHI policy: code never logs `SeriesInfo` or any patient field. As a second line of defence, every value registered
with `register_phi` (patient name and ID of each opened study) is replaced by "[redacted]" in every log record,
including records from third-party libraries and captured `warnings`, before any handler sees them. A study's values
are registered only once it is loaded, and pydicom warns while it reads, quoting the element's value ("Invalid value
for VR UI: 'Doe^John'", 'Value "4417.5" is not valid for elements with a VR of IS'), whichever element it is; so
every quoted text in pydicom's log records and in captured warnings is redacted too. Crash messages shown to the
user name only the exception type, never its text (which may quote a file name or a tag value). The log may still
hold PHI the guard was never told about (a file name, a library's message), so on POSIX the log folder is owner-only
(0700) and so are the log file and its rotated backups (0600), including ones an earlier version left readable by
others. (Windows ignores these modes; there the per-user profile folder protects the log.)

Nothing here imports TensorFlow or Qt; `quiet_third_party_logging` only sets environment variables and logger
levels, so it must run before TensorFlow/Qt are first imported to take full effect.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import platformdirs

APP_NAME = "BrainMRI Assist"
LOG_FILE_NAME = "brainmri.log"
REDACTED = "[redacted]"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
_MAX_LOG_BYTES = 1_000_000
_LOG_BACKUPS = 3
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# Shorter values (a one-letter name, an ID like "1") would redact unrelated text everywhere, so they are not guarded.
_MIN_PHI_LENGTH = 3
#: Text in single or double quotes, as pydicom and Python's repr() quote values (a backslash escapes a quote).
_QUOTED = re.compile(r"b?'(?:[^'\\\n]|\\.)*'" r'|b?"(?:[^"\\\n]|\\.)*"')
#: Loggers whose messages quote values read from files: pydicom's, and `warnings` captured by `logging`.
_VALUE_QUOTING_LOGGERS = ("pydicom", "py.warnings")

_phi_lock = threading.Lock()
_phi_pattern: re.Pattern[str] | None = None
_phi_values: set[str] = set()
_file_handler: logging.Handler | None = None


def quiet_third_party_logging() -> None:
    """Silence TensorFlow's C++ and absl start-up chatter and Qt's platform warnings; keep errors visible."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # 2 = errors only (hides oneDNN/CPU-feature notices)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    for name in ("tensorflow", "absl", "h5py", "matplotlib", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR)
    absl_logging = sys.modules.get("absl.logging")  # only if already imported: importing absl here would cost start-up
    if absl_logging is not None:
        absl_logging.set_verbosity(absl_logging.ERROR)


# What TensorFlow's C++ runtime prints on its own at import and first use: absl's pre-initialisation warning, absl
# INFO/WARNING lines ("I0000 00:00:…", "W0000 …") such as the oneDNN and CPU-feature notices, and the second line of
# the CPU-feature notice. Some TensorFlow builds print them whatever TF_CPP_MIN_LOG_LEVEL says.
_NATIVE_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IW]\d{4} \d\d:\d\d:"
                           r"|To enable the following instructions:|oneDNN custom operations are on)")


@contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """While active, file descriptor 2 goes to a temporary file; afterwards every line but TensorFlow's start-up
    chatter (`_NATIVE_NOISE`) is written to the real stderr, so errors stay visible. Process-wide: use it around
    TensorFlow's import and the model build, not around work that runs beside other threads' output."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines()
                    if not _NATIVE_NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def _phi_variants(value: str) -> set[str]:
    """The value as stored and as commonly displayed. DICOM person names use '^' between components ("Doe^John");
    the app displays them as "Doe, John", which is what gets registered, so both separators split."""
    value = value.strip()
    components = [part for part in re.split(r"[\^=,\s]+", value) if part]
    variants = {value, "^".join(components), " ".join(components), ", ".join(components),
                " ".join(reversed(components))}
    # "DOE" alone still identifies the patient. Matching is by substring (a file name like DOE_JOHN_01.dcm must not
    # leak), so a short name that is also a word is redacted in unrelated text too: the safe side for a log.
    variants.update(components)
    return {variant for variant in variants if len(variant) >= _MIN_PHI_LENGTH}


def register_phi(values: Iterable[str]) -> None:
    """Guard these values (patient names, IDs): from now on they never reach a log handler."""
    global _phi_pattern
    with _phi_lock:
        for value in values:
            if value:
                _phi_values.update(_phi_variants(str(value)))
        if _phi_values:
            longest_first = sorted(_phi_values, key=len, reverse=True)
            _phi_pattern = re.compile("|".join(re.escape(value) for value in longest_first), re.IGNORECASE)


def register_study_phi(study: object) -> None:
    """Register the patient name and ID, and the accession number, which names the examination in the RIS, of every
    series of a `core.io.load.Study` (duck-typed: no import of study)."""
    register_phi(value for series in getattr(study, "series", [])
                 for value in (series.info.patient_name, series.info.patient_id, series.info.accession_number))


def clear_phi() -> None:
    """Forget all registered values (tests; a new session)."""
    global _phi_pattern
    with _phi_lock:
        _phi_values.clear()
        _phi_pattern = None


def redact(text: str) -> str:
    """`text` with every registered PHI value replaced by "[redacted]"."""
    pattern = _phi_pattern
    return pattern.sub(REDACTED, text) if pattern is not None else text


def _quotes_file_values(record: logging.LogRecord) -> bool:
    return any(record.name == name or record.name.startswith(f"{name}.") for name in _VALUE_QUOTING_LOGGERS)


def _redacting_record_factory(base_factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        quotes_values = _quotes_file_values(record)
        if _phi_pattern is None and not quotes_values:
            return record
        # Format once here so redaction also covers %-arguments and the traceback text.
        message = record.getMessage()
        record.msg = redact(_QUOTED.sub(REDACTED, message) if quotes_values else message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    make_record.phi_guard = True  # type: ignore[attr-defined]  # marks the factory so it is installed only once
    return make_record


def install_phi_guard() -> None:
    """Redact registered PHI in every log record created from now on, whichever logger or handler handles it."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "phi_guard", False):
        logging.setLogRecordFactory(_redacting_record_factory(current))


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A `RotatingFileHandler` whose log file is owner-only: created so at start and after each rollover (the base
    class would create it with the umask's mode, usually 0644), and tightened if it already exists. Backups are
    renamed log files, so they keep the mode."""

    def _open(self) -> io.TextIOWrapper:
        _make_private_file(Path(self.baseFilename))
        return super()._open()


def _make_private_file(path: Path) -> None:
    """Create `path` owner-only if it is absent, without a moment at wider permissions; tighten it if it exists."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE))
    os.chmod(path, PRIVATE_FILE_MODE)


def _make_private_log_folder(log_path: Path) -> None:
    """Create the log folder owner-only, and tighten it and the rotated backups an earlier run left behind."""
    folder = log_path.parent
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, PRIVATE_DIR_MODE)
    for number in range(1, _LOG_BACKUPS + 1):
        try:
            os.chmod(log_path.with_name(f"{log_path.name}.{number}"), PRIVATE_FILE_MODE)
        except FileNotFoundError:
            pass  # fewer backups than the maximum: nothing to tighten


def configure_logging(level: int = logging.INFO, log_dir: Path | None = None) -> Path:
    """Quiet third parties, install the PHI guard, log to a rotating, owner-only file; returns the log file path.
    Idempotent."""
    global _file_handler
    quiet_third_party_logging()
    install_phi_guard()
    logging.captureWarnings(True)  # pydicom's warnings can quote tag values: route them through the guard
    log_path = (log_dir or default_log_dir()) / LOG_FILE_NAME
    root = logging.getLogger()
    root.setLevel(level)
    if _file_handler is None or Path(getattr(_file_handler, "baseFilename", "")) != log_path:
        if _file_handler is not None:
            root.removeHandler(_file_handler)
            _file_handler.close()
        _make_private_log_folder(log_path)
        _file_handler = _PrivateRotatingFileHandler(
            log_path, maxBytes=_MAX_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8")
        _file_handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        root.addHandler(_file_handler)
    return log_path


def crash_message(exc_type: type[BaseException], log_path: Path | None) -> str:
    """What the user is told about an unexpected error: the error's type only, never its text (may hold PHI)."""
    where = f" Details were written to {log_path}." if log_path is not None else ""
    return (f"{APP_NAME} hit an unexpected error ({exc_type.__name__}) and may need to be restarted.{where} "
            "No patient data is included in this message.")


def install_crash_handler(show_message: Callable[[str], None] | None = None,
                          log_path: Path | None = None) -> None:
    """Route uncaught exceptions (main and worker threads) to the log with their traceback, and tell the user.

    `show_message` (e.g. a Qt message box set up by the desktop) receives the PHI-free text; without it the text
    goes to stderr.
    """
    logger = logging.getLogger("brainmri.crash")
    install_phi_guard()

    def report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        logger.critical("Unhandled %s", exc_type.__name__, exc_info=(exc_type, exc, tb))
        message = crash_message(exc_type, log_path)
        if show_message is not None:
            show_message(message)
        else:
            print(message, file=sys.stderr)

    def report_thread(args: threading.ExceptHookArgs) -> None:
        report(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)

    sys.excepthook = report
    threading.excepthook = report_thread
