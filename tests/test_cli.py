"""brainmri-cli: usage, exit statuses, and end-to-end runs through the real loader and the real Classifier code.

The end-to-end tests run in-process (TensorFlow is imported once) with the random-weight tiny model, which exercises
every code path; the shipped-model test is skipped until models/manifest.json exists.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

import core
from core.cli import EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_SKIPPED, ProgressBar, main
from core.io.load import SeriesInfo, load_study
from core.io.sequence import sequence_hint
from core.paths import sample_study_dir
from tests.dicom_factory import write_mr_series

pytest_plugins = ["tests.model_fixtures"]


@pytest.fixture()
def sample_jpegs(tmp_path: Path) -> Path:
    """The bundled sample JPEGs without the folder's README."""
    folder = tmp_path / "sample"
    folder.mkdir()
    for jpeg in sorted(sample_study_dir().glob("*.jpg")):
        shutil.copy(jpeg, folder)
    return folder


def test_version_via_the_console_script() -> None:
    completed = subprocess.run([sys.executable, "-m", "core.cli", "--version"], capture_output=True, text=True)
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"brainmri-cli {core.__version__}"


def test_help_lists_the_classify_command(capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--help"])
    assert raised.value.code == 0
    assert "classify" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    [],
    ["classify"],
    ["frobnicate"],
    ["classify", ".", "--slices", "0"],
    ["classify", ".", "--page-size", "A5"],
    ["classify", "/no/such/folder"],
])
def test_usage_errors_exit_with_status_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_missing_model_exits_with_status_3(sample_jpegs: Path, tmp_path: Path, capsys) -> None:
    assert main(["classify", str(sample_jpegs), "--model-dir", str(tmp_path / "empty")]) == EXIT_FAILED
    assert "model cannot be used" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        ProgressBar(stream).update(2, 4, "analysing")
    assert piped.getvalue() == ""
    assert "[###############...............] 2/4 analysing" in terminal.getvalue()


def test_classify_sample_jpegs_writes_summary_json_and_report(sample_jpegs: Path, tmp_path: Path, tiny_model_dir,
                                                             capsys) -> None:
    json_path, report_path = tmp_path / "out.json", tmp_path / "report.pdf"
    status = main(["classify", str(sample_jpegs), "--slices", "3", "--json", str(json_path),
                   "--report", str(report_path), "--model-dir", str(tiny_model_dir)])
    assert status == EXIT_OK
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{sample_jpegs} |") and "3/3 slices counted" in lines[0]
    assert all(line.startswith("    caution: ") for line in lines[1:-2])  # the random model's answer is a close call
    assert lines[-2] == "    note: " + sequence_hint(SeriesInfo()).sentence()  # "sequence unknown", as the window says
    assert lines[-1] == f"report: {report_path} (pictures)"
    document = json.loads(json_path.read_text(encoding="utf-8"))
    series = document["studies"][0]["series"][0]
    assert document["model"]["name"] == "tiny-test-model"
    assert len(series["slices"]) == 3 and all(s["probabilities"] for s in series["slices"])
    assert len(PdfReader(report_path).pages) >= 2


def test_classify_dicom_series_anonymised(tmp_path: Path, tiny_model_dir, capsys) -> None:
    write_mr_series(tmp_path / "mr", n_slices=12, rows=64, cols=64, PatientName="DOE^JANE", PatientID="ID-0042")
    json_path, report_path = tmp_path / "out.json", tmp_path / "report.pdf"
    status = main(["classify", str(tmp_path / "mr"), "--slices", "2", "--anonymise", "--json", str(json_path),
                   "--report", str(report_path), "--model-dir", str(tiny_model_dir)])
    assert status == EXIT_OK
    text = json_path.read_text(encoding="utf-8")
    assert "DOE" not in text and "ID-0042" not in text
    assert len(json.loads(text)["studies"][0]["series"][0]["slices"]) == 2
    report_text = "".join(page.extract_text() for page in PdfReader(report_path).pages)
    assert "DOE" not in report_text and "removed (anonymised)" in report_text


def test_skipped_files_give_status_1(sample_jpegs: Path, tmp_path: Path, tiny_model_dir, capsys) -> None:
    (sample_jpegs / "broken.dcm").write_bytes(b"DICM but not really")
    json_path = tmp_path / "out.json"
    status = main(["classify", str(sample_jpegs), "--slices", "1", "--json", str(json_path),
                   "--model-dir", str(tiny_model_dir)])
    assert status == EXIT_SKIPPED
    skipped = json.loads(json_path.read_text(encoding="utf-8"))["studies"][0]["skipped_files"]
    assert [Path(entry["file"]).name for entry in skipped] == ["broken.dcm"]
    assert "skipped:" in capsys.readouterr().err


def test_a_series_without_a_verdict_gives_status_1(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    """Colour photographs fail the input checks whatever the model: every slice is out of distribution, so the
    series has no verdict, and a script must not read that as success."""
    import cv2
    import numpy as np

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    json_path = tmp_path / "out.json"
    status = main(["classify", str(folder), "--model-dir", str(tiny_model_dir), "--json", str(json_path)])
    assert status == EXIT_SKIPPED
    assert "| no prediction: no slice passed the out-of-distribution check (0/2 slices counted)" in (
        capsys.readouterr().out)
    result = json.loads(json_path.read_text(encoding="utf-8"))["studies"][0]["series"][0]["result"]
    assert result["verdict"] is None


def test_an_output_never_replaces_a_file_the_study_was_read_from(sample_jpegs: Path, tmp_path: Path,
                                                                  tiny_model_dir: Path, capsys) -> None:
    """`--report study/Te-gl_0029.jpg` turned a source image into a PDF, exit status 0."""
    image = sample_jpegs / "Te-gl_0029.jpg"
    original = image.read_bytes()
    status = main(["classify", str(sample_jpegs), "--slices", "1", "--report", str(image),
                   "--model-dir", str(tiny_model_dir)])
    assert status == EXIT_FAILED and image.read_bytes() == original
    assert f"could not write {image}: it is one of the files the study was read from" in capsys.readouterr().err


def test_each_report_of_a_several_series_study_says_which_series_it_holds(tmp_path: Path, tiny_model_dir: Path,
                                                                         capsys) -> None:
    for number, description in ((4, "AX T2 FLAIR"), (7, "AX T1 POST GAD")):
        write_mr_series(tmp_path / "study" / str(number), n_slices=3, rows=64, cols=64, seed=number,
                        SeriesNumber=number, SeriesDescription=description)
    main(["classify", str(tmp_path / "study"), "--slices", "1", "--report", str(tmp_path / "r.pdf"),
          "--model-dir", str(tiny_model_dir)])
    reports = [line for line in capsys.readouterr().out.splitlines() if line.startswith("report: ")]
    assert [line.split(" (")[0] for line in reports] == [f"report: {tmp_path / 'r_1.pdf'}",
                                                        f"report: {tmp_path / 'r_2.pdf'}"]
    assert sorted(line.split(" (")[1] for line in reports) == ["series 4, AX T2 FLAIR)", "series 7, AX T1 POST GAD)"]


def test_a_reader_that_leaves_early_does_not_stop_the_reports(sample_jpegs: Path, tmp_path: Path,
                                                              tiny_model_dir: Path) -> None:
    """`brainmri-cli classify … | head -1` ended with BrokenPipeError as an internal error, no report written."""
    report = tmp_path / "report.pdf"
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "classify", str(sample_jpegs), "--slices", "1",
                                "--report", str(report), "--model-dir", str(tiny_model_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line
    errors = process.stderr.read().decode()
    assert process.wait(timeout=300) in (EXIT_OK, EXIT_SKIPPED), errors
    assert "internal error" not in errors and "BrokenPipeError" not in errors
    assert PdfReader(report).pages


def test_a_symbolic_link_loop_in_the_study_is_skipped_and_the_report_written(sample_jpegs: Path, tmp_path: Path,
                                                                             tiny_model_dir: Path) -> None:
    """Checking the outputs against the study's files resolved every skipped path; a link loop raised there."""
    (sample_jpegs / "loop.jpg").symlink_to(sample_jpegs / "loop.jpg")
    report = tmp_path / "report.pdf"
    status = main(["classify", str(sample_jpegs), "--slices", "1", "--report", str(report),
                   "--model-dir", str(tiny_model_dir)])
    assert status == EXIT_SKIPPED and PdfReader(report).pages


def test_json_and_report_on_one_file_is_a_usage_error(sample_jpegs: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["classify", str(sample_jpegs), "--json", str(tmp_path / "out"), "--report", str(tmp_path / "out")])
    assert exited.value.code == 2 and "--json and --report name the same file" in capsys.readouterr().err


def test_unwritable_json_gives_status_3(sample_jpegs: Path, tmp_path: Path, tiny_model_dir, capsys) -> None:
    status = main(["classify", str(sample_jpegs), "--slices", "1", "--json", str(tmp_path / "no" / "out.json"),
                   "--model-dir", str(tiny_model_dir)])
    assert status == EXIT_FAILED
    assert "folder does not exist" in capsys.readouterr().err


def test_shipped_model_classifies_the_sample_study(sample_jpegs: Path, tmp_path: Path, shipped_classifier,
                                                   capsys) -> None:
    json_path, report_path = tmp_path / "out.json", tmp_path / "report.pdf"
    status = main(["classify", str(sample_jpegs), "--slices", "6", "--json", str(json_path),
                   "--report", str(report_path)])
    assert status == EXIT_OK
    assert len(PdfReader(report_path).pages) >= 3
    document = json.loads(json_path.read_text(encoding="utf-8"))
    assert document["model"]["version"] == shipped_classifier.manifest.version
    series = document["studies"][0]["series"][0]
    assert all(sum(s["probabilities"].values()) == pytest.approx(1.0, abs=1e-4) for s in series["slices"])
    assert series["result"]["verdict"] == "glioma"  # the six samples are glioma test images


def test_a_series_whose_slices_cannot_be_decoded_says_so_and_exits_1(tiny_model_dir: Path, tmp_path: Path,
                                                                      capsys) -> None:
    """pydicom's JPEG-lossy.dcm (12-bit lossy JPEG) has no decoder here: it was '0/0 slices counted …
    out-of-distribution', exit 0. Its modality is NM, so it is relabelled MR to reach the model."""
    import pydicom
    from pydicom.data import get_testdata_file

    study = tmp_path / "study"
    study.mkdir()
    dataset = pydicom.dcmread(get_testdata_file("JPEG-lossy.dcm"))
    dataset.Modality = "MR"
    dataset.save_as(study / "lossy.dcm")
    status = main(["classify", str(study), "--model-dir", str(tiny_model_dir), "--json", str(tmp_path / "out.json")])
    captured = capsys.readouterr()
    assert status == EXIT_SKIPPED
    assert "no prediction: 1 slice(s) could not be decoded, listed on stderr (0/1 slices counted)" in captured.out
    label = load_study(study).series[0].slices[0].label  # named as everywhere else, with its path to find it by
    assert f"could not decode: {label} ({study / 'lossy.dcm'}): " in captured.err
    slices = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["studies"][0]["series"][0]["slices"]
    assert len(slices) == 1 and slices[0]["error"] and slices[0]["predicted_class"] is None


def test_an_internal_error_has_its_own_exit_status_and_no_traceback(tiny_model_dir: Path, monkeypatch,
                                                                     capsys) -> None:
    def broken(*args, **kwargs):
        raise KeyError("Doe^John")  # an internal defect whose text quotes patient data

    monkeypatch.setattr("core.io.load.load_study", broken)
    status = main(["classify", str(sample_study_dir()), "--model-dir", str(tiny_model_dir)])
    error_text = capsys.readouterr().err
    assert status == EXIT_INTERNAL
    assert "internal error" in error_text and "KeyError" in error_text
    assert "Doe" not in error_text and "Traceback" not in error_text


def test_a_t2_series_gets_the_sequence_caveat(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    import pydicom

    write_mr_series(tmp_path / "t2", n_slices=3, rows=64, cols=64)
    for path in (tmp_path / "t2").glob("*.dcm"):
        dataset = pydicom.dcmread(path)
        dataset.SeriesDescription = "AX T2 FSE"
        dataset.save_as(path)
    main(["classify", str(tmp_path / "t2"), "--model-dir", str(tiny_model_dir)])
    out = capsys.readouterr().out
    assert "note: Series looks like T2 (series description 'AX T2 FSE')" in out and "not validated" in out
    assert "    caution: Not validated on T2: " in out  # as beside the verdict elsewhere
