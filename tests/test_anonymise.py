"""Anonymised output: paths taken out of reasons, new UIDs, and an end-to-end run over a study folder named after
the patient whose JSON and PDF must name neither the folder nor its files."""

from __future__ import annotations

import json
from pathlib import Path

from pypdf import PdfReader

from core.analysis.results import aggregate, analyse_slice
from core.io.load import load_study
from core.output.anonymise import UidMap, without_path
from core.output.export import StudyExport, json_document
from core.output.pdf import write_pdf
from core.output.report import ReportOptions
from tests.analysis_doubles import ClassifierDouble, ManifestDouble, prediction
from tests.dicom_factory import write_mr_series


def test_every_spelling_of_the_path_becomes_the_name() -> None:
    path = Path("/data/DOE JOHN/scan1.jpg")
    messages = [
        f"cannot identify image file {str(path)!r}",
        "damaged (see DOE JOHN/scan1.jpg)",
        "listed as ../DOE JOHN/scan1.jpg, ./x/DOE_JOHN/scan1.jpg",
        f"[Errno 2] No such file or directory: '{path}'.",
    ]
    cleaned = [without_path(message, path, "file 2") for message in messages]
    assert cleaned == ["cannot identify image file 'file 2'", "damaged (see file 2)", "listed as ../file 2, file 2",
                       "[Errno 2] No such file or directory: 'file 2'."]


def test_a_reason_keeps_its_words_when_a_folder_shares_one() -> None:
    reason = "the pixel data is incomplete (10 of 4096 bytes); the file is probably truncated"
    assert without_path(reason, Path("/data/DOE_JOHN/IM1"), "image 3") == reason


def test_uids_are_replaced_consistently_within_one_map_only() -> None:
    uids = UidMap()
    first, again, other = uids.replace("1.2.3"), uids.replace("1.2.3"), uids.replace("1.2.4")
    assert first == again != other and first.startswith("2.25.") and "1.2.3" not in first
    assert UidMap().replace("1.2.3") != first
    assert uids.replace("") == ""


def test_anonymised_run_over_a_folder_named_after_the_patient_names_no_file(tmp_path: Path) -> None:
    folder = tmp_path / "DOE_JOHN"
    paths = write_mr_series(folder, n_slices=5, rows=32, cols=32, PatientName="DOE^JOHN")
    (folder / "DOE_JOHN_notes.jpg").write_bytes(b"\xff\xd8\xff" + b"not really a picture" * 10)
    study = load_study(folder)
    series = study.series[0]
    undecodable = series.slices[2]
    undecodable.path.unlink()  # headers were read; decoding it now fails with an error that quotes its path
    classifier = ClassifierDouble([prediction([0.7, 0.1, 0.1, 0.1])] * 4)
    results = [analyse_slice(slice_, classifier) for slice_ in series.slices]
    assert str(folder) in results[2].error and str(folder) in study.skipped[0].reason  # what must not leak
    result = aggregate(results, ManifestDouble(), series_info=series.info, series_length=len(series))

    document = json_document([StudyExport(folder, [result], study.skipped)], ManifestDouble(), anonymise=True)
    pdf_path = tmp_path / "report.pdf"
    write_pdf(result, pdf_path, ReportOptions(anonymise=True), skipped=study.skipped)
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(pdf_path).pages)

    names = ["DOE_JOHN", "DOE_JOHN_notes.jpg", "JOHN"] + [path.name for path in paths]
    for text in (json.dumps(document, ensure_ascii=False), pdf_text, "".join(pdf_text.split())):
        for name in names:
            assert name not in text, name
    skipped = document["studies"][0]["skipped_files"]
    assert skipped == [{"file": None, "reason": "the picture is damaged and could not be read (cannot identify "
                                                  "image file 'file 1')"}]
    error = document["studies"][0]["series"][0]["slices"][2]["error"]
    name = undecodable.label  # a DICOM name says nothing of the patient: kept, and put for the path in the reason
    assert name == "Se 3 Im 3, I 27.0 mm"
    assert error.startswith("the pixel data could not be decoded (") and f"'{name}'" in error
    assert "file 1: the picture is damaged and could not be read" in pdf_text
    assert "Not counted, could not be read — the pixel data could not be decoded" in " ".join(pdf_text.split())
    assert f"): {name}." in " ".join(pdf_text.split())
