"""`brainmri-cli cases list/show/export` over a store chosen by --data-dir or $BRAINMRI_DATA_DIR."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cases import store as case_store
from core.cases.store import CaseStore
from core.cli import EXIT_FAILED, main
from tests.conftest import REPO_ROOT
from tests.test_cases import DAMAGES, PATIENT_ID, SteppingClock, make_study_result, save_sample


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> CaseStore:
    """A store with two cases, found by the CLI through $BRAINMRI_DATA_DIR."""
    store = CaseStore(tmp_path / "data", clock=SteppingClock())
    save_sample(store, "Tumour board", notes="discuss on Friday", copy_slice_images=True)
    save_sample(store, "Teaching case", study_result=make_study_result(verdict=None), anonymised=True)
    monkeypatch.setenv(case_store.DATA_DIR_ENV, str(store.root))
    return store


def test_list_prints_every_case_newest_first(store, capsys) -> None:
    assert main(["cases", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "2" and "Teaching case" in lines[0] and "anonymised" in lines[0]
    assert "no prediction" in lines[0]
    assert lines[1].split()[0] == "1" and "Tumour board" in lines[1] and PATIENT_ID in lines[1]
    assert "Glioma" in lines[1] and "2026-03-14 09:31" in lines[1]  # named as the window and report name it


def test_list_with_a_query_filters_and_says_when_nothing_matches(store, capsys) -> None:
    assert main(["cases", "list", "tumour"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["1"]
    assert main(["cases", "list", "meningioma"]) == 0
    assert capsys.readouterr().out.strip() == "No cases match 'meningioma'."


def test_show_prints_the_case_as_analysed(store, capsys) -> None:
    assert main(["cases", "show", "1"]) == 0
    out = capsys.readouterr().out
    for expected in ("Case 1: Tumour board", "/studies/Doe_Johnathan/MR_HEAD", "study UID 1.2.3.4,",
                     "xception-brain 1.0.0", "Result:    Glioma", "out of distribution (unlike the training images)",
                     "could not be read (truncated pixel data)",
                     "hidden, No tumour, colormap inferno, opacity 70%, attention below 35% hidden",
                     "Notes:     discuss on Friday"):
        assert expected in out, expected
    assert "caution:" not in out  # contrast T1, one counted slice: nothing to qualify the result


def test_show_gives_the_cautions_that_stand_beside_the_verdict(store, capsys) -> None:
    flair = make_study_result()
    flair.series_info = dataclasses.replace(flair.series_info, series_description="AX T2 FLAIR")
    record = save_sample(store, "FLAIR", study_result=flair)
    assert main(["cases", "show", str(record.case_id)]) == 0
    out = capsys.readouterr().out
    assert "Result:    Glioma" in out
    assert "             caution: Not validated on FLAIR: the tumour type and probability are uncertain." in out


def test_show_of_an_unknown_case_fails_with_a_message(store, capsys) -> None:
    assert main(["cases", "show", "99"]) == EXIT_FAILED
    assert capsys.readouterr().err.strip() == "error: There is no case 99."


def test_export_copies_the_case_with_notes_and_reports(store, tmp_path, capsys) -> None:
    (tmp_path / "r.pdf").write_bytes(b"%PDF")
    store.attach_report(1, tmp_path / "r.pdf")

    assert main(["cases", "export", "1", str(tmp_path / "out")]) == 0
    exported = Path(capsys.readouterr().out.strip())

    assert exported.parent == tmp_path / "out"
    document = json.loads((exported / "case.json").read_text(encoding="utf-8"))
    assert document["name"] == "Tumour board" and document["notes"] == "discuss on Friday"
    assert (exported / "reports" / "r.pdf").read_bytes() == b"%PDF"
    assert sorted(p.name for p in exported.glob("*.png")) == ["slice_000.png", "slice_001.png"]
    assert main(["cases", "export", "1", str(tmp_path / "out")]) == EXIT_FAILED
    assert "already exists" in capsys.readouterr().err


def test_data_dir_option_overrides_the_environment(store, tmp_path, capsys) -> None:
    assert main(["cases", "--data-dir", str(tmp_path / "empty"), "list"]) == 0
    assert capsys.readouterr().out.strip() == "No cases."


def test_runs_as_a_module_in_a_fresh_process(store) -> None:
    completed = subprocess.run([sys.executable, "-m", "core.cli", "cases", "list", "teaching"],
                               cwd=REPO_ROOT, env={**os.environ, case_store.DATA_DIR_ENV: str(store.root)},
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "Teaching case" in completed.stdout and "Tumour board" not in completed.stdout


def test_a_damaged_database_fails_with_a_message_not_a_traceback(store) -> None:
    store.database_path.write_bytes(b"\x8f not an SQLite database \x00" * 400)
    completed = subprocess.run([sys.executable, "-m", "core.cli", "cases", "list"],
                               cwd=REPO_ROOT, env={**os.environ, case_store.DATA_DIR_ENV: str(store.root)},
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == EXIT_FAILED
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"error: {case_store.DATABASE_NAME}: The case database {store.database_path} is "
                                       "damaged (file is not a database). Move it aside to start a new one")
    assert "Traceback" not in completed.stderr


def test_a_data_folder_that_cannot_be_created_fails_with_a_message(tmp_path, monkeypatch, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a folder")

    assert main(["cases", "--data-dir", str(blocker / "store"), "list"]) == EXIT_FAILED
    assert capsys.readouterr().err == (f"error: store: The case store's folder {blocker / 'store'} cannot be created: "
                                       "part of the path is a file, not a folder.\n")
    assert main(["cases", "--data-dir", str(blocker), "list"]) == EXIT_FAILED
    assert capsys.readouterr().err == (f"error: a-file: The case store's folder {blocker} cannot be created: a file of "
                                       "that name is in the way.\n")
    monkeypatch.setenv(case_store.DATA_DIR_ENV, str(blocker / "store"))
    assert main(["cases", "show", "1"]) == EXIT_FAILED
    assert "cannot be created: part of the path is a file, not a folder." in capsys.readouterr().err
    assert blocker.read_bytes() == b"not a folder"


@pytest.mark.parametrize("damage", ["cams truncated", "cams empty", "case file a list", "study entry deleted"])
def test_show_of_a_damaged_case_fails_with_a_message_and_the_other_cases_still_work(store, capsys, damage) -> None:
    damage_folder, file_name, problem = DAMAGES[damage]
    damage_folder(store.record(1).folder)

    assert main(["cases", "show", "1"]) == EXIT_FAILED
    assert capsys.readouterr().err.startswith(f"error: {file_name}: Case 1 cannot be reopened. The case is damaged: "
                                              f"its file {file_name} {problem}")
    assert main(["cases", "list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["2", "1"]
    assert main(["cases", "show", "2"]) == 0
    assert "Case 2: Teaching case" in capsys.readouterr().out
