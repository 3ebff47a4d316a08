"""PHI never reaches a log record or a crash message; temporary files disappear at exit."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import warnings
from pathlib import Path

from core import logging_setup
from core.analysis.results import aggregate, iter_analysis
from core.analysis.selection import central_slices
from core.io.load import load_study
from core.logging_setup import REDACTED, configure_logging, install_crash_handler, register_phi
from tests.analysis_doubles import ClassifierDouble, ManifestDouble, prediction
from tests.conftest import REPO_ROOT
from tests.dicom_factory import write_mr_series

pytest_plugins = ["tests.model_fixtures"]

PATIENT_NAME = "Quixley^Marguerite"
PATIENT_ID = "PHI-ID-4417"
# Every spelling under which the name or ID could leak, checked case-insensitively.
PHI_SPELLINGS = ("quixley", "marguerite", PATIENT_ID.lower())


def assert_phi_free(text: str) -> None:
    lowered = text.lower()
    leaked = [spelling for spelling in PHI_SPELLINGS if spelling in lowered]
    assert not leaked, f"PHI {leaked} found in: {text[:500]}"


def record_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(message)s")
    return [formatter.format(record) for record in records]


def test_loading_analysis_and_report_never_log_patient_name_or_id(isolated_logging, caplog, tmp_path):
    """Without any redaction registered: the code itself must not log SeriesInfo or patient fields."""
    from core.output.pdf import write_pdf
    from core.output.report import ReportOptions

    configure_logging(logging.DEBUG, log_dir=isolated_logging)
    write_mr_series(tmp_path / "study", n_slices=12, rows=64, cols=64, PatientName=PATIENT_NAME, PatientID=PATIENT_ID)
    (tmp_path / "study" / "broken.dcm").write_bytes(b"DICM" + b"\0" * 40)  # exercises the skipped-file path too
    with caplog.at_level(logging.DEBUG):
        study = load_study(tmp_path / "study")
        series = study.series[0]
        assert series.info.patient_id == PATIENT_ID  # the PHI really is in the loaded objects
        slices = central_slices(series, 3)
        classifier = ClassifierDouble([prediction([0.7, 0.1, 0.1, 0.1]) for _ in slices])
        result = aggregate(list(iter_analysis(slices, classifier)), ManifestDouble(), series_info=series.info)
        write_pdf(result, tmp_path / "report.pdf", ReportOptions())
        logging.getLogger("brainmri.test").debug("study %s loaded with %d series", study.source, len(study.series))
    assert caplog.records, "expected at least the test's own record"
    for text in record_texts(caplog.records):
        assert_phi_free(text)
    assert_phi_free((isolated_logging / logging_setup.LOG_FILE_NAME).read_text(encoding="utf-8"))


def test_registered_phi_is_redacted_in_messages_arguments_and_tracebacks(isolated_logging, caplog):
    configure_logging(logging.DEBUG, log_dir=isolated_logging)
    register_phi([PATIENT_NAME, PATIENT_ID])
    logger = logging.getLogger("brainmri.test")
    with caplog.at_level(logging.DEBUG):
        logger.debug("opened %s (%s)", "QUIXLEY MARGUERITE", PATIENT_ID)
        logger.info(f"display name Marguerite Quixley, raw {PATIENT_NAME}")
        try:
            raise ValueError(f"bad tag value {PATIENT_NAME}")
        except ValueError:
            logger.exception("decode failed")
    texts = record_texts(caplog.records)
    assert len(texts) == 3 and all(REDACTED in text for text in texts)
    for text in texts:
        assert_phi_free(text)
    assert_phi_free((isolated_logging / logging_setup.LOG_FILE_NAME).read_text(encoding="utf-8"))


def test_a_name_registered_as_displayed_is_redacted_in_its_dicom_form_too(isolated_logging, caplog):
    """The app registers names as it displays them ("Quixley, Marguerite"); files and warnings hold
    "Quixley^Marguerite"."""
    configure_logging(logging.DEBUG, log_dir=isolated_logging)
    register_phi(["Quixley, Marguerite"])
    with caplog.at_level(logging.INFO):
        logging.getLogger("pydicom").warning("PN value Quixley^Marguerite in QUIXLEY_MARGUERITE_001.dcm")
    assert caplog.records[0].getMessage() == "PN value [redacted] in [redacted]_[redacted]_001.dcm"


def test_pydicom_warnings_about_patient_values_keep_the_values_out_of_the_log(isolated_logging, tmp_path):
    """pydicom warns while it reads a header, before the study's patient can be registered, quoting the value it
    found invalid: here the patient's name and ID stored with a wrong VR (UI, IS), and an other ID that only the tag
    table reads. Both ways its warnings reach the log (its logger, and `warnings` captured) keep them out."""
    log_file = configure_logging(logging.INFO, log_dir=isolated_logging)
    paths = write_mr_series(tmp_path / "study", n_slices=2, rows=32, cols=32, PatientName=PATIENT_NAME,
                            PatientID=PATIENT_ID, OtherPatientIDs=PATIENT_ID)
    for path in paths:
        data = path.read_bytes()
        for tag, written, damaged in ((b"\x10\x00\x10\x00", b"PN", b"UI"), (b"\x10\x00\x20\x00", b"LO", b"IS"),
                                      (b"\x10\x00\x00\x10", b"LO", b"IS")):
            assert data.count(tag + written) == 1
            data = data.replace(tag + written, tag + damaged)
        path.write_bytes(data)

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every warning, not only the first from each place
        study = load_study(tmp_path / "study")
        study.series[0].slices[0].tags()  # what the metadata panel shows

    logged = log_file.read_text(encoding="utf-8")
    assert "Invalid value for VR UI: [redacted]" in logged and "Invalid value for VR IS: [redacted]" in logged
    assert "WARNING pydicom [" in logged and "WARNING py.warnings [" in logged  # both ways were taken
    assert_phi_free(logged)


def test_short_values_are_not_registered_so_ordinary_text_survives(isolated_logging, caplog):
    configure_logging(logging.DEBUG, log_dir=isolated_logging)
    register_phi(["1", "AB"])
    with caplog.at_level(logging.INFO):
        logging.getLogger("brainmri.test").info("slice 1 of AB series")
    assert caplog.records[0].getMessage() == "slice 1 of AB series"


def test_crash_handler_logs_traceback_and_shows_a_phi_free_message(isolated_logging):
    log_path = configure_logging(logging.INFO, log_dir=isolated_logging)
    register_phi([PATIENT_NAME, PATIENT_ID])
    shown: list[str] = []
    install_crash_handler(shown.append, log_path)
    try:
        raise RuntimeError(f"cannot open /studies/{PATIENT_ID}/{PATIENT_NAME}.dcm")
    except RuntimeError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    assert len(shown) == 1 and "RuntimeError" in shown[0] and str(log_path) in shown[0]
    assert_phi_free(shown[0])
    logged = log_path.read_text(encoding="utf-8")
    assert "Traceback" in logged and "test_crash_handler_logs_traceback" in logged
    assert_phi_free(logged)


def test_crash_handler_catches_worker_thread_exceptions(isolated_logging):
    log_path = configure_logging(logging.INFO, log_dir=isolated_logging)
    register_phi([PATIENT_ID])
    shown: list[str] = []
    install_crash_handler(shown.append, log_path)

    def fail() -> None:
        raise KeyError(PATIENT_ID)

    worker = threading.Thread(target=fail)
    worker.start()
    worker.join()
    assert len(shown) == 1 and "KeyError" in shown[0]
    assert_phi_free(log_path.read_text(encoding="utf-8"))


def test_app_temp_dir_is_removed_at_exit(tmp_path):
    script = ("from core.output.tempfiles import app_temp_dir, new_temp_subdir\n"
              "folder = new_temp_subdir('report-')\n"
              "(folder / 'preview.pdf').write_bytes(b'%PDF')\n"
              "print(app_temp_dir())\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    temp_dir = Path(done.stdout.strip())
    assert temp_dir.name.startswith("brainmri-")
    assert not temp_dir.exists()


def test_cli_registers_the_patient_it_opens_so_later_log_records_are_redacted(isolated_logging, caplog, tmp_path,
                                                                             tiny_model_dir):
    """The CLI (like the desktop's load worker) registers each opened study's patient with the PHI guard."""
    from core import cli

    configure_logging(logging.DEBUG, log_dir=isolated_logging)
    write_mr_series(tmp_path / "series", n_slices=6, rows=64, cols=64, PatientName=PATIENT_NAME, PatientID=PATIENT_ID,
                    AccessionNumber="ACC-31337")
    assert cli.main(["classify", str(tmp_path / "series"), "--slices", "1", "--model-dir", str(tiny_model_dir)]) == 0
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("brainmri.test").warning("late message about %s, exam %s", PATIENT_ID, "ACC-31337")
    assert REDACTED in record_texts(caplog.records)[-1]
    assert_phi_free(record_texts(caplog.records)[-1])
    assert "ACC-31337" not in record_texts(caplog.records)[-1]  # the accession number names the examination


def test_cli_alone_sets_up_the_log_file_and_the_phi_guard(isolated_logging, tmp_path, tiny_model_dir):
    """Without any set-up by the caller, a CLI run routes records (a library's included) through the PHI guard into
    the log file."""
    from core import cli

    write_mr_series(tmp_path / "series", n_slices=4, rows=64, cols=64, PatientName=PATIENT_NAME, PatientID=PATIENT_ID)
    assert cli.main(["classify", str(tmp_path / "series"), "--slices", "1", "--model-dir", str(tiny_model_dir)]) == 0
    logging.getLogger("pydicom").warning("odd value in a file of %s (%s)", PATIENT_NAME, PATIENT_ID)

    log_file = logging_setup.default_log_dir() / logging_setup.LOG_FILE_NAME
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "odd value in a file of [redacted] ([redacted])" in text
    assert_phi_free(text)


def test_every_component_group_of_a_name_is_registered_when_the_study_is_opened(isolated_logging, caplog,
                                                                                tmp_path):
    """A PN holds an alphabetic, an ideographic and a phonetic group (PS3.5 6.2.1.2); the loader shows one of them,
    yet each names the patient, so none may reach the log: neither the ideographic group beside an alphabetic one,
    nor a name recorded in ideographic form only (shown, then registered as shown)."""
    from core.analysis.pipeline import open_study

    configure_logging(logging.DEBUG, log_dir=isolated_logging)
    write_mr_series(tmp_path / "both", n_slices=2, rows=32, cols=32, PatientName="Yamada^Tarou=山田^太郎=やまだ^たろう",
                    SpecificCharacterSet="ISO_IR 192")
    write_mr_series(tmp_path / "ideographic", n_slices=2, rows=32, cols=32, PatientName="=鈴木^花子",
                    SpecificCharacterSet="ISO_IR 192")
    names = [open_study(tmp_path / folder).series[0].info.patient_name for folder in ("both", "ideographic")]
    assert names == ["Yamada, Tarou", "鈴木, 花子"]
    written = ("Yamada^Tarou", "山田^太郎", "山田 太郎", "山田太郎", "やまだ^たろう", "やまだたろう",
               "鈴木^花子", "鈴木, 花子", "鈴木花子")
    with caplog.at_level(logging.INFO):
        for spelling in written:
            logging.getLogger("brainmri.test").info("file %s.dcm", spelling)
    texts = record_texts(caplog.records)[-len(written):]
    assert texts == ["file [redacted].dcm"] * len(written)
