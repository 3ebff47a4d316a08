"""PDF report: content, anonymisation, layout growth, embedded image resolution, metadata and atomic writing."""

from __future__ import annotations

import dataclasses
import errno
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from core.analysis.overlay import OverlaySettings
from core.analysis.profile import study_profile
from core.analysis.results import aggregate
from core.errors import ReportWriteError
from core.io.load import SeriesInfo, SkippedFile
from core.model.labels import CLASS_COLOURS
from core.output.pdf import profile_figure, write_pdf
from core.output.pdf_images import MARKER_FONT_SIZE, SCALE_FONT_SIZE
from core.output.report import (
    ANONYMISED,
    NOT_AVAILABLE,
    OUT_OF_DISTRIBUTION_PANEL,
    PICTURES_ORDER,
    PROFILE_NO_PREDICTION,
    REPORT_FIELD_MAX_CHARS,
    ReportOptions,
    findings_paragraphs,
    shortened,
    suggested_file_name,
    unshown_characters_note,
)
from tests.analysis_doubles import ManifestDouble, head_phantom, prediction, slice_result

INFO = SeriesInfo(
    patient_name="KOWALSKI, ŁUKASZ", patient_id="PID-4711", patient_birth_date="1965-03-12", patient_sex="M",
    study_date="2024-01-31", study_description="", series_description="T1 AX POST", modality="MR",
    orientation="axial", series_number="5", pixel_spacing=(0.5, 0.5),
)
IDENTIFIERS = ("KOWALSKI", "ŁUKASZ", "PID-4711", "1965-03-12")
WHEN = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)


AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # ImageOrientationPatient: rows run to the patient's left


def _study(n_slices: int = 3, info: SeriesInfo | None = INFO):
    """Slices of an axial DICOM series (`info`), or of pictures without a recorded orientation (None)."""
    rows = [[0.8, 0.1, 0.05, 0.05], [0.6, 0.3, 0.05, 0.05], [0.2, 0.7, 0.05, 0.05]]
    results = [slice_result(i, prediction(rows[i % len(rows)])) for i in range(n_slices)]
    for result in results:
        result.orientation = AXIAL if info is not None else None
    return aggregate(results, ManifestDouble(), series_info=info)


def _write(tmp_path: Path, study=None, **options) -> PdfReader:
    path = tmp_path / "report.pdf"
    write_pdf(study or _study(), path, ReportOptions(generated_at=WHEN, **options))
    return PdfReader(path)


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _words(reader: PdfReader) -> str:
    """The report's text with every run of white space (line breaks included) made one space."""
    return " ".join(_text(reader).split())


def test_page_one_has_header_patient_block_and_result(tmp_path: Path) -> None:
    reader = _write(tmp_path, institution="St. Example Hospital")
    first_page = reader.pages[0].extract_text()
    for expected in ("St. Example Hospital", "decision-support report", "2025-03-04 09:30",
                     "KOWALSKI, ŁUKASZ", "PID-4711", "1965-03-12", "male", "2024-01-31", "#5 T1 AX POST", "MR",
                     "Glioma: 53.3% mean calibrated probability", "Meningioma", "36.7%",
                     "Decision support, not a diagnosis"):
        assert expected in first_page, expected
    assert re.search(rf"Study\s+{NOT_AVAILABLE}", first_page)  # the empty study description


def test_the_verdict_is_followed_by_the_slices_that_favour_another_class(tmp_path: Path) -> None:
    rows = [[0.97, 0.01, 0.01, 0.01]] * 2 + [[0.02, 0.02, 0.94, 0.02]] * 7
    results = [slice_result(i, prediction(row)) for i, row in enumerate(rows)]
    page = _words(_write(tmp_path, study=aggregate(results, ManifestDouble(), series_info=INFO)))
    assert ("No tumour: 73.3% mean calibrated probability Not all slices agree: of 9 counted slices, 2 favour Glioma "
            "(up to 97.0%).") in page
    assert "This map shows where the model found evidence of a normal appearance, not a lesion." in page


def test_unknown_series_information_reads_not_available(tmp_path: Path) -> None:
    text = _write(tmp_path, study=_study(info=None)).pages[0].extract_text()
    assert text.count(NOT_AVAILABLE) == 8


def test_findings_state_class_confidence_slices_and_attention_side() -> None:
    text = " ".join(findings_paragraphs(_study(), anonymise=False))
    assert "Model result: Glioma, mean calibrated probability 53.3% over 3 of 3 analysed slices" in text
    assert "slice_000.dcm; slice_001.dcm; slice_002.dcm" in text
    assert "upper left part of the image (anterior, patient's right side) on 3 of 3 slices" in text
    assert "Patient sides are taken from each slice's recorded orientation" in text
    assert "The slices disagree: slice_002.dcm favours Meningioma (70.0%)" in text
    # where, on that slice, the model saw its Meningioma: the verdict's map does not say
    assert "On the slice favouring Meningioma, its attention is greatest in the upper left part" in text
    assert "Next most probable class: Meningioma (36.7%)." in text


def test_without_a_recorded_orientation_no_patient_side_is_named() -> None:
    text = " ".join(findings_paragraphs(_study(info=None), anonymise=False))
    assert "upper left part of the image on 3 of 3 slices" in text and "patient's" not in text
    assert "no patient side is named" in text


def test_sagittal_slices_get_no_sentence_about_sides() -> None:
    study = _study()
    for result in study.slice_results:
        result.orientation = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    text = " ".join(findings_paragraphs(study, anonymise=False))
    assert "upper left part of the image (superior) on 3 of 3 slices." in text and "side" not in text


def test_classes_tied_for_second_place_are_named_together() -> None:
    study = aggregate([slice_result(0, prediction([0.94, 0.02, 0.02, 0.02]))], ManifestDouble(), series_info=INFO)
    text = " ".join(findings_paragraphs(study, anonymise=False))
    assert "Next most probable classes: Meningioma, No tumour and Pituitary tumour (2.0% each)." in text


def test_findings_state_how_much_of_the_series_was_analysed() -> None:
    results = [slice_result(i, prediction([0.8, 0.1, 0.05, 0.05])) for i in range(23, 32)]
    known = aggregate(results, ManifestDouble(), series_info=INFO, series_length=55)
    assert "Coverage: 9 of 55 slices in the series analysed (series positions 24–32)." in findings_paragraphs(known,
                                                                                                          False)
    assert PICTURES_ORDER not in " ".join(findings_paragraphs(known, False))  # DICOM: positions are real
    pictures = aggregate(results, ManifestDouble(), series_info=SeriesInfo(), series_length=55)
    assert PICTURES_ORDER in " ".join(findings_paragraphs(pictures, False))  # a folder's files: their name order
    gappy = aggregate([results[i] for i in (0, 2, 3, 4)], ManifestDouble(), series_info=INFO)
    assert ("Coverage: 4 slices analysed (series positions 24, 26–28); the number of slices in the series was not "
            "recorded." in findings_paragraphs(gappy, False))


def test_many_slices_not_counted_for_one_reason_are_given_by_count_and_series_positions() -> None:
    results = [slice_result(0, prediction([0.7, 0.1, 0.1, 0.1]))]
    results += [slice_result(i, prediction([0.4, 0.2, 0.2, 0.2], ood_reason="blank image")) for i in (1, 2, 3, 5)]
    text = " ".join(findings_paragraphs(aggregate(results, ManifestDouble(), series_info=INFO), anonymise=False))
    assert "Not counted, out of distribution — blank image: 4 slices (series positions 2–4, 6)." in text


def test_report_lists_the_files_that_could_not_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    skipped = [SkippedFile(Path("/data/study/notes.txt"), "not a DICOM file or a supported picture")]
    write_pdf(_study(), path, ReportOptions(generated_at=WHEN), skipped=skipped)
    text = _words(PdfReader(path))
    assert "Not opened: 1 file of the study could not be opened and was not analysed" in text
    assert "Files that could not be opened (1) /data/study/notes.txt: not a DICOM file or a supported picture" in text


def test_findings_without_a_verdict_say_so() -> None:
    results = [slice_result(0, prediction([0.25] * 4, ood_reason="blank image")), slice_result(1, None, error="bad"),
               slice_result(2, prediction([0.25] * 4, ood_reason="blank image"))]
    text = " ".join(findings_paragraphs(aggregate(results, ManifestDouble(), series_info=INFO), anonymise=False))
    assert "No study-level result" in text
    # A reason many slices share is said once, followed by those slices.
    assert "Not counted, out of distribution — blank image: slice_000.dcm; slice_002.dcm." in text
    assert "Not counted, could not be read — bad: slice_001.dcm." in text


def test_every_page_has_a_footer_with_page_numbers_and_versions(tmp_path: Path) -> None:
    reader = _write(tmp_path, study=_study(5))
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {total}" in text
        assert "BrainMRI Assist 0.1.0" in text and "1.2.0" in text and ManifestDouble().weights_sha256[:12] in text


def test_page_count_grows_with_the_number_of_slices(tmp_path: Path) -> None:
    few = len(_write(tmp_path, study=_study(1)).pages)
    many = len(_write(tmp_path, study=_study(9)).pages)
    assert many > few >= 2


def test_anonymised_report_has_no_identifiers_in_text_metadata_or_file_name(tmp_path: Path) -> None:
    study = _study()
    reader = _write(tmp_path, study=study, anonymise=True)
    text = _text(reader)
    metadata = " ".join(str(value) for value in reader.metadata.values())
    file_name = suggested_file_name(study, ReportOptions(anonymise=True, generated_at=WHEN))
    for identifier in IDENTIFIERS + ("slice_000.dcm",):
        assert identifier not in text, identifier
        assert identifier not in metadata, identifier
        assert identifier.lower() not in file_name.lower(), identifier
    assert ANONYMISED in text and "image 1" in text
    assert suggested_file_name(study, ReportOptions(generated_at=WHEN)) == (
        "brain-mri-report_PID-4711_2024-01-31_se5_20250304-0930.pdf")  # the series tells two reports of a study apart
    assert file_name == "brain-mri-report_se5_20250304-0930.pdf"


def test_anonymised_report_leaves_out_study_details_and_free_text(tmp_path: Path) -> None:
    info = dataclasses.replace(INFO, study_description="Brain MRI requested by Dr Smithers")
    study = _study(info=info)
    text = _words(_write(tmp_path, study=study, anonymise=True))
    for removed in ("Smithers", "T1 AX POST", "2024-01-31", "male"):
        assert removed not in text, removed
    for label in ("Sex", "Study date", "Study"):
        assert f"{label} {ANONYMISED}" in text, label
    assert "#5 (MR)" in text  # the series number and modality stay; its description goes
    assert "2024-01-31" not in suggested_file_name(study, ReportOptions(anonymise=True, generated_at=WHEN))
    assert "Smithers" in _words(_write(tmp_path, study=study))


def _text_runs(page) -> list[tuple[str, float, float, str, float]]:
    """(text, x, y, font, size) of every run of text drawn on `page`, in page coordinates."""
    runs = []

    def visit(text, cm, tm, font, size) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((text.strip(), x, y, str(font["/BaseFont"]).split("+")[-1], size))

    page.extract_text(visitor_text=visit)
    return runs


def test_continuation_pages_repeat_the_complete_patient_line_within_the_page(tmp_path: Path) -> None:
    name = "WOLFESCHLEGELSTEINHAUSENBERGERDORFF-VONKAUSGEBURTSTAG, HUBERT BLAINE MAXIMILIAN ŁUKASZ"
    patient_id = "PID-0123456789-ABCDEFGHIJ-0123456789-KLMNOPQRST"
    info = dataclasses.replace(INFO, patient_name=name, patient_id=patient_id)
    reader = _write(tmp_path, study=_study(info=info))
    for page in reader.pages[1:]:
        runs = _text_runs(page)
        right_edge = float(page.mediabox.width) - 16 * mm
        for text, x, _, font, size in runs:
            assert x + pdfmetrics.stringWidth(text, font, size) <= right_edge + 0.5, text
        header = [run for run in runs if run[2] > float(page.mediabox.height) - 16 * mm - 20]
        header_text = "".join("".join(run[0] for run in header).split())
        for expected in (name, patient_id, "1965-03-12", "2024-01-31"):
            assert "".join(expected.split()) in header_text, expected
        content_top = max(run[2] for run in runs if run not in header and run[2] > 60)
        assert content_top < min(run[2] for run in header) - 5


def test_grad_cam_captions_say_which_class_they_explain_and_its_probability(tmp_path: Path) -> None:
    predicted = _words(_write(tmp_path))
    assert "Grad-CAM for Glioma (probability 80.0%)" in predicted
    assert "Grad-CAM for Meningioma (probability 70.0%)" in predicted  # the third slice's own class
    chosen = _words(_write(tmp_path, overlay=OverlaySettings(class_index=2)))
    assert chosen.count("Grad-CAM for No tumour (probability 5.0%, weak evidence)") == 3
    assert "Attention for No tumour is greatest" in chosen


def test_tall_narrow_slices_keep_their_captions_readable(tmp_path: Path) -> None:
    study = _study(1)
    study.slice_results[0].display = np.ascontiguousarray(head_phantom()[:, ::6])  # 256 × 43 pixels
    lines = _text(_write(tmp_path, study=study)).splitlines()
    assert "Slice as displayed" in lines
    assert any(line.strip().startswith("Grad-CAM for Glioma") for line in lines)


def test_slices_rejected_as_out_of_distribution_show_no_probabilities(tmp_path: Path) -> None:
    results = [slice_result(0, prediction([0.7, 0.1, 0.1, 0.1])),
               slice_result(1, prediction([0.82, 0.08, 0.03, 0.07], ood_reason="input is blank"))]
    reader = _write(tmp_path, study=aggregate(results, ManifestDouble(), series_info=INFO))
    panels = " ".join(" ".join(page.extract_text() for page in reader.pages[1:]).split())
    rejected = panels[panels.index("slice_001.dcm"):]
    assert "Reason: input is blank" in rejected and OUT_OF_DISTRIBUTION_PANEL in rejected
    assert "82.0%" not in rejected and "Probability" not in rejected and "Grad-CAM for" not in rejected
    assert "Probability" in panels[:panels.index("slice_001.dcm")]  # the counted slice keeps its table


def _image_annotations(page) -> tuple[list[tuple[str, float, float]], list[str]]:
    """The orientation letters (text, x, y) and the scale-bar labels drawn over the slice images of `page`."""
    runs = _text_runs(page)
    letters = [(text, x, y) for text, x, y, font, size in runs if size == MARKER_FONT_SIZE and font.endswith("Bold")]
    return letters, [text for text, _, _, _, size in runs if size == SCALE_FONT_SIZE]


def test_slice_images_carry_orientation_letters_and_a_scale_bar(tmp_path: Path) -> None:
    study = _study(1)
    study.slice_results[0].orientation = AXIAL
    letters, bars = _image_annotations(_write(tmp_path, study=study).pages[1])
    # The slice and its Grad-CAM, each letter drawn over its shadow.
    assert sorted(text for text, _, _ in letters) == sorted(["R", "L", "A", "P"] * 4)
    first_image = [run for run in letters if run[1] < min(x for _, x, _ in letters) + 50 * mm]
    position = {text: (x, y) for text, x, y in first_image}
    assert position["R"][0] < position["A"][0] < position["L"][0]  # the patient's right on the viewer's left
    assert position["A"][1] > position["R"][1] > position["P"][1]  # anterior at the top
    assert bars == ["20 mm"] * 4  # 256 pixels of 0.5 mm: 128 mm across, a bar of at most a fifth of it


def test_pictures_get_no_orientation_letters_or_scale_bar(tmp_path: Path) -> None:
    letters, bars = _image_annotations(_write(tmp_path, study=_study(1, info=None)).pages[1])
    assert letters == [] and bars == []


def test_metadata_and_page_size(tmp_path: Path) -> None:
    reader = _write(tmp_path, institution="St. Example Hospital", page_size="Letter")
    assert reader.metadata.title == "Brain MRI classification: decision-support report"
    assert reader.metadata.creator == "BrainMRI Assist 0.1.0"
    assert reader.metadata.author == "St. Example Hospital"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_unknown_page_size_is_refused() -> None:
    with pytest.raises(ValueError, match="page size"):
        ReportOptions(page_size="A5")


def _drawn_image_sizes(page) -> list[tuple[int, int, float, float]]:
    """(pixel width, pixel height, drawn width pt, drawn height pt) of every image drawn on `page`."""
    from pypdf.generic import ContentStream

    xobjects = page["/Resources"].get("/XObject", {})
    ctm, stack, drawn = np.eye(3), [], []
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"q":
            stack.append(ctm.copy())
        elif operator == b"Q":
            ctm = stack.pop()
        elif operator == b"cm":
            a, b, c, d, e, f = (float(x) for x in operands)
            ctm = np.array([[a, b, 0], [c, d, 0], [e, f, 1]]) @ ctm
        elif operator == b"Do":
            image = xobjects[operands[0]].get_object()
            if image["/Subtype"] == "/Image":
                drawn.append((image["/Width"], image["/Height"], np.hypot(*ctm[0, :2]), np.hypot(*ctm[1, :2])))
    return drawn


def test_slice_images_are_embedded_at_150_dpi_or_more(tmp_path: Path) -> None:
    reader = _write(tmp_path, study=_study(2))
    images = [size for page in reader.pages[1:] for size in _drawn_image_sizes(page)]  # page 1: the profile
    slice_images = [size for size in images if size[3] > 72]  # more than an inch tall: the slice and overlay
    assert len(slice_images) == 4
    for width_px, height_px, width_pt, height_pt in slice_images:
        assert width_px / (width_pt / 72) >= 150 and height_px / (height_pt / 72) >= 150


def _profile_figures(page) -> list[tuple[int, int, float, float]]:
    return [size for size in _drawn_image_sizes(page) if size[2] > 150]  # the bars beside it are narrower drawings


def test_several_analysed_slices_get_the_probability_profile_figure_on_page_one(tmp_path: Path) -> None:
    rows = [[0.8, 0.1, 0.05, 0.05], [0.2, 0.7, 0.05, 0.05], [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]]
    results = [slice_result(i + 20, prediction(row)) for i, row in enumerate(rows)]
    reader = _write(tmp_path, study=aggregate(results, ManifestDouble(), series_info=INFO, series_length=55))
    ((width_px, _, width_pt, _),) = _profile_figures(reader.pages[0])
    assert width_px / (width_pt / 72) >= 150
    assert "Probability profile: each class's calibrated probability on each analysed slice" in _words(reader)
    figure = np.asarray(next(image.image for image in reader.pages[0].images
                             if image.image.width == width_px).convert("RGB")).astype(int)
    for label, colour in CLASS_COLOURS.items():  # each class's curve, in its colour
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(figure - rgb).sum(axis=2) < 30).sum() > 50, label


def _busy_report(tmp_path: Path, page_size: str, files_not_opened: int) -> list[str]:
    """Each page's words for a six-slice study whose findings have every kind of sentence: a disagreement, slices
    not counted and, optionally, files not opened."""
    rows = [[0.8, 0.1, 0.05, 0.05], [0.7, 0.2, 0.05, 0.05], [0.2, 0.7, 0.05, 0.05], [0.9, 0.05, 0.03, 0.02]]
    results = [slice_result(i, prediction(row)) for i, row in enumerate(rows)]
    results += [slice_result(4, prediction([0.25] * 4, ood_reason="blank image")), slice_result(5, None, error="bad")]
    skipped = [SkippedFile(Path(f"/data/study/notes{i}.txt"), "not a DICOM file") for i in range(files_not_opened)]
    path = tmp_path / "report.pdf"
    write_pdf(aggregate(results, ManifestDouble(), series_info=INFO), path,
              ReportOptions(generated_at=WHEN, page_size=page_size), skipped=skipped)
    return [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]


DISCLAIMER_BODY = "This report was produced by software"
SIGN_OFF = "Reviewed by (radiologist)"


@pytest.mark.parametrize("page_size, files_not_opened", [("A4", 1), ("Letter", 0)])
def test_page_one_holds_the_summary_findings_disclaimer_and_sign_off(tmp_path: Path, page_size: str,
                                                                     files_not_opened: int) -> None:
    first, second = _busy_report(tmp_path, page_size, files_not_opened)[:2]
    for expected in ("Mean probability", "Probability profile", "Findings", "slices disagree", "Not counted",
                     DISCLAIMER_BODY, SIGN_OFF):
        assert expected in first, expected
    assert SIGN_OFF not in second and second.index("Analysed slices") < 200  # the slices start on page 2


def test_the_list_of_files_not_opened_starts_on_the_page_of_its_heading(tmp_path: Path) -> None:
    pages = _busy_report(tmp_path, "Letter", files_not_opened=4)
    (listed,) = [page for page in pages if "Files that could not be opened (4)" in page]
    assert all(f"/data/study/notes{i}.txt" in listed for i in range(4))


def test_the_sign_off_stays_under_the_disclaimer_when_page_one_is_full(tmp_path: Path) -> None:
    pages = _busy_report(tmp_path, "Letter", files_not_opened=3)
    (signed,) = [page for page in pages if SIGN_OFF in page]
    assert DISCLAIMER_BODY in signed and signed.index(DISCLAIMER_BODY) < signed.index(SIGN_OFF)


def test_slices_without_a_prediction_are_marked_under_the_0_percent_line_not_on_it() -> None:
    results = [slice_result(0, prediction([0.7, 0.1, 0.1, 0.1])), slice_result(1, None, error="bad"),
               slice_result(2, prediction([0.4, 0.2, 0.2, 0.2], ood_reason="blank image"))]
    study = aggregate(results, ManifestDouble(), series_info=INFO, series_length=5)
    axes = profile_figure(study, study_profile(study), 120 * mm, 40 * mm).axes[0]
    (marks,) = [line for line in axes.get_lines() if line.get_label() == PROFILE_NO_PREDICTION]
    assert list(marks.get_xdata()) == [3, 2]  # series positions: the out-of-distribution, then the unreadable slice
    assert all(axes.get_ylim()[0] < y < 0 for y in marks.get_ydata())


def test_a_single_analysed_slice_gets_no_profile(tmp_path: Path) -> None:
    reader = _write(tmp_path, study=_study(1))
    assert _profile_figures(reader.pages[0]) == [] and "Probability profile" not in _words(reader)


def test_unwritable_folder_raises_and_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ReportWriteError) as raised:
        write_pdf(_study(), blocker / "report.pdf", ReportOptions())
    assert raised.value.path == blocker / "report.pdf"
    assert "folder does not exist" in raised.value.reason


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_raises_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(ReportWriteError, match="permission"):
        write_pdf(_study(), folder / "report.pdf", ReportOptions())
    assert list(folder.iterdir()) == []


def test_full_disk_leaves_no_partial_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"previous report")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ReportWriteError, match="the disk is full"):
        write_pdf(_study(), target, ReportOptions())
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]
    assert target.read_bytes() == b"previous report"


def test_shortened_cuts_only_over_long_text_and_says_so() -> None:
    assert shortened("a" * REPORT_FIELD_MAX_CHARS) == "a" * REPORT_FIELD_MAX_CHARS
    assert shortened("a" * (REPORT_FIELD_MAX_CHARS + 1)) == "a" * REPORT_FIELD_MAX_CHARS + "…"
    assert shortened("word " * 100, limit=12) == "word word wo…"


def test_free_text_of_10000_characters_is_shortened_where_printed_and_the_report_is_written(tmp_path: Path) -> None:
    """A damaged header can hold thousands of characters in a field that DICOM limits to 64 (LO, and PN per group):
    printed whole, one such value outgrows a page (a table row, the patient line atop each page) and no report could
    be written. Every field is cut with "…"."""
    long = 10_000
    info = dataclasses.replace(INFO, patient_name="N" * long, patient_id="I" * long, patient_birth_date="9" * long,
                               study_description="word " * (long // 5), series_description="S" * long + " T1",
                               series_number="7" * long)
    study = _study(info=info)
    study.slice_results[0] = dataclasses.replace(study.slice_results[0], slice_label="L" * long)
    reader = _write(tmp_path, study=study, institution="H" * long)
    compact = "".join(_text(reader).split())
    for letter in "NI97SLH":
        assert letter * REPORT_FIELD_MAX_CHARS + "…" in compact, letter
        assert letter * (REPORT_FIELD_MAX_CHARS + 1) not in compact, letter
    assert "word" * 40 + "…" in compact and "word" * 41 not in compact
    for page in reader.pages:  # nothing drawn beyond the right margin
        right_edge = float(page.mediabox.width) - 16 * mm
        for text, x, _, font, size in _text_runs(page):
            assert x + pdfmetrics.stringWidth(text, font, size) <= right_edge + 0.5, text[:40]


@pytest.mark.parametrize("name", ["山田, 太郎", "محمد, علي", "MÜLLER-山田, ANNA"])
def test_a_name_the_report_cannot_show_is_printed_as_far_as_it_can_be_with_a_note(tmp_path: Path, name: str) -> None:
    """DejaVu Sans has no Chinese, Japanese or Korean glyphs, and reportlab would set Arabic left to right and
    unjoined: such characters print as U+FFFD, with a note beside the name that sends the reader to the header."""
    reader = _write(tmp_path, study=_study(info=dataclasses.replace(INFO, patient_name=name)))
    first_page = " ".join(reader.pages[0].extract_text().split())
    shown = "".join(c if c in ", ÜMLERAN-" else "\ufffd" for c in name)
    assert f"{shown} {unshown_characters_note('Patient name')}" in first_page
    assert not any(c in _text(reader) for c in name if c not in ", ÜMLERAN-")
    assert unshown_characters_note("Patient ID") not in first_page  # the ID is all Latin: no note beside it


def test_a_name_the_report_can_show_gets_no_note(tmp_path: Path) -> None:
    text = _words(_write(tmp_path))
    assert "KOWALSKI, ŁUKASZ" in text and "cannot show" not in text


def test_a_study_without_an_answer_says_why_and_weighs_no_answer(tmp_path: Path) -> None:
    """Every slice unreadable: the headline said no slice passed the out-of-distribution check (the CLI said they
    could not be decoded), and the sequence sentence still weighed a 'no tumour' answer that was never given."""
    flair = dataclasses.replace(INFO, series_description="AX T2 FLAIR")
    unreadable = aggregate([slice_result(i, None, error="pixel data is truncated") for i in range(2)],
                           ManifestDouble(), series_info=flair)
    words = _words(_write(tmp_path, study=unreadable))
    assert "No prediction: 2 slice(s) could not be decoded." in words
    assert "little weight" not in words and "No prediction: no slice passed" not in words
    rejected = aggregate([slice_result(0, prediction([0.7, 0.1, 0.1, 0.1], ood_reason="input is blank"))],
                         ManifestDouble(), series_info=flair)
    words = _words(_write(tmp_path, study=rejected))
    assert "No prediction: no slice passed the out-of-distribution check." in words and "little weight" not in words
