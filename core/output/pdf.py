"""Page layout of the PDF report with reportlab: page 1 holds the header, patient block, result, findings, the
disclaimer and the sign-off line; then one panel per analysed slice, and the files that could not be opened. Every
page has a footer "page k of n" with the software and model versions, and pages after the first repeat the patient
line, wrapped over as many lines as it needs (the text frame of those pages starts below it), so a loose page can
still be matched to its patient.

Text is set in DejaVu Sans (resources/fonts, bundled from matplotlib; DejaVu licence alongside) because the
built-in Helvetica only covers Latin-1 and patient names often do not (Polish, Czech, Turkish, Greek, Cyrillic).
DejaVu Sans has no Chinese, Japanese or Korean, and reportlab (without its optional bidi and shaping libraries) sets
Arabic and Hebrew left to right and unjoined; a font that has CJK (Noto Sans CJK, 16 MB and more) is too big to
bundle. So what the report cannot show is printed as U+FFFD, and a patient-block value that has any gets a note
sending the reader to the DICOM header (`_shown`), rather than boxes or a misspelt name that could be misread.

Free-text fields are shortened before they are laid out (`core.output.report.printed_inputs`): a table row or the
patient line atop each page cannot split, so one value of thousands of characters would not fit any page.

`write_pdf` lays the report out and writes it atomically. Importing reportlab costs ~0.3 s, so callers import this
module only when they write a report.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import numpy as np
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

import core
from core.analysis.overlay import attention_summary, colormap_lut, render_overlay
from core.analysis.profile import ProbabilityProfile, SliceState, study_profile
from core.analysis.results import SliceResult, StudyResult
from core.model.labels import CLASS_COLOURS
from core.output.anonymise import slice_error
from core.output.atomic import write_bytes_atomically
from core.output.pdf_images import IMAGE_DPI, AnnotatedSliceImage, embedded_image
from core.output.report import (
    ANONYMISED,
    DISCLAIMER,
    NOT_AVAILABLE,
    OUT_OF_DISTRIBUTION_PANEL,
    PROFILE_CAPTION,
    PROFILE_NO_PREDICTION,
    PROFILE_X_LABEL,
    PROFILE_Y_LABEL,
    REPORT_DECIMALS,
    REPORT_TITLE,
    SKIPPED_HEADING,
    ReportOptions,
    explanation_caption,
    findings_paragraphs,
    patient_rows,
    printed_inputs,
    skipped_lines,
    unshown_characters_note,
)
from core.output.wording import (
    NO_PREDICTION,
    capitalised,
    format_percent,
    no_verdict_reason,
    overlay_look_words,
    slice_heading,
    verdict_cautions,
    verdict_text,
)
from core.paths import resources_dir
from core.viewing.orientation import edge_labels

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from core.io.load import SkippedFile

_PAGE_SIZES = {"A4": A4, "Letter": LETTER}
_MARGIN = 16 * mm
_FOOTER_HEIGHT = 12 * mm
_PANEL_IMAGE = 52 * mm  # side of the square box each slice image is fitted into
_PROFILE_HEIGHT = 40 * mm  # the probability profile figure, beside the mean-probability table
_SUMMARY_BAR = 30 * mm  # the bars of the mean-probability table on page 1
_COLUMN_GAP = 6 * mm
_FULL_WIDTH_LEGEND = 140 * mm
_SKIPPED_LINES_WITH_HEADING = 6
_PROFILE_FONT_SIZE = 7.0
_PROFILE_SHADE = "#e9edf1"  # analysed slices' band
_PROFILE_NO_PREDICTION = "#8a6d1f"  # the × of slices without a prediction
_NO_PREDICTION_LANE = -14.0  # the profile's y axis starts here: the × lane under 0%
# Narrowest image column of a slice panel: a tall, narrow slice keeps its captions readable beside it.
_PANEL_CAPTION_WIDTH = 40 * mm
_RUNNING_HEADER_TOP = 9 * mm  # from the top edge to the first line of the patient line on pages after the first
_FONT, _BOLD = "DejaVuSans", "DejaVuSans-Bold"
_INK = colors.HexColor("#1a1a1a")
_MUTED_HEX = "#555555"
_MUTED = colors.HexColor(_MUTED_HEX)
_RULE_HEX = "#b0b0b0"
_RULE = colors.HexColor(_RULE_HEX)
_VERDICT_BAR = colors.HexColor("#2c5d8a")
_OTHER_BAR = colors.HexColor("#a9b8c6")
#: What the report prints for a character it cannot show (U+FFFD REPLACEMENT CHARACTER, which DejaVu Sans has).
UNSHOWN_CHARACTER = "\ufffd"
#: Bidirectional classes of right-to-left letters (Arabic, Hebrew, ...), which reportlab would set reversed.
_RIGHT_TO_LEFT = frozenset({"R", "AL"})


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    fonts = resources_dir() / "fonts"
    pdfmetrics.registerFont(TTFont(_FONT, str(fonts / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_BOLD, str(fonts / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_FONT, boldItalic=_BOLD)


def _style(name: str, size: float, bold: bool = False, colour=_INK, **extra) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=_BOLD if bold else _FONT, fontSize=size, leading=size * 1.3,
                          textColor=colour, **extra)


class _Styles:
    institution = _style("institution", 11, bold=True)
    title = _style("title", 15, bold=True, spaceBefore=2, spaceAfter=2)
    generated = _style("generated", 8.5, colour=_MUTED, alignment=TA_RIGHT)
    heading = _style("heading", 11, bold=True, spaceBefore=9, spaceAfter=4)
    verdict = _style("verdict", 13, bold=True, spaceAfter=4)
    caution = _style("caution", 10, bold=True, colour=colors.HexColor("#8a4b00"), spaceAfter=4)
    body = _style("body", 9.5, spaceAfter=4)
    small = _style("small", 8, colour=_MUTED)
    running_header = _style("running_header", 7.5, colour=_MUTED)
    cell = _style("cell", 8.5)
    cell_bold = _style("cell_bold", 8.5, bold=True)
    disclaimer = _style("disclaimer", 8.5)


@lru_cache(maxsize=4)
def _glyphs(font_name: str) -> frozenset[int]:
    """The code points the registered TrueType font `font_name` has a glyph for."""
    _register_fonts()
    font = pdfmetrics.getFont(font_name)
    assert isinstance(font, TTFont)  # only DejaVu Sans is registered and used
    return frozenset(font.face.charToGlyph)


def _can_show(character: str, font_name: str) -> bool:
    """Whether the report can set `character` in `font_name`: white space (a paragraph makes it a space), or a
    glyph of the font that is not a right-to-left letter. reportlab, without its optional bidi and shaping
    libraries, would set an Arabic or Hebrew name left to right with unjoined letters: a misspelt name."""
    if character.isspace():
        return True
    return ord(character) in _glyphs(font_name) and unicodedata.bidirectional(character) not in _RIGHT_TO_LEFT


def _shown(text: str, font_name: str) -> tuple[str, bool]:
    """`text` as the report prints it in `font_name`, every character it cannot show (`_can_show`) made
    `UNSHOWN_CHARACTER`, and whether there was any. The one check of what the report's font can draw."""
    shown = "".join(c if _can_show(c, font_name) else UNSHOWN_CHARACTER for c in text)
    return shown, shown != text


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: patient data may contain '&' or '<'), characters the font cannot show
    replaced (`_shown`)."""
    return Paragraph(escape(_shown(text, style.fontName)[0]), style)


def _field_para(label: str, value: str, style: ParagraphStyle) -> Paragraph:
    """A patient-block value; one with characters the report cannot show is printed as far as it can be, with a
    note beside it that sends the reader to the DICOM header (`core.output.report.unshown_characters_note`)."""
    shown, replaced = _shown(value, style.fontName)
    if not replaced:
        return Paragraph(escape(shown), style)
    note = f'<font color="{_MUTED_HEX}">{escape(unshown_characters_note(label))}</font>'
    return Paragraph(f"{escape(shown)} {note}", style)


class _NumberedCanvas(Canvas):
    """Defers each page's footer until the page count is known, so it can say "page k of n"."""

    def __init__(self, *args, footer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(self, number, len(self._pages))
            super().showPage()
        super().save()


def _image_box(shape: tuple[int, int], pixel_spacing: tuple[float, float] | None) -> tuple[float, float]:
    """Width and height in points that fit the slice into the panel box with its physical aspect ratio."""
    row_mm, col_mm = pixel_spacing or (1.0, 1.0)
    aspect = (shape[0] * row_mm) / (shape[1] * col_mm)  # height / width
    return (_PANEL_IMAGE, _PANEL_IMAGE * aspect) if aspect <= 1.0 else (_PANEL_IMAGE / aspect, _PANEL_IMAGE)


def _bar(probability: float, highlighted: bool, width: float = 38 * mm, height: float = 7) -> Drawing:
    drawing = Drawing(width, height)
    drawing.add(Rect(0, 0, width, height, fillColor=colors.HexColor("#eef1f4"), strokeColor=None))
    drawing.add(Rect(0, 0, width * float(probability), height, strokeColor=None,
                     fillColor=_VERDICT_BAR if highlighted else _OTHER_BAR))
    return drawing


def _probability_table(study: StudyResult, probabilities: np.ndarray, highlighted: int | None, heading: str,
                       bar_width: float) -> Table:
    """Class | probability | bar, one row per class; the highlighted class in bold."""
    rows = [[_para("Class", _Styles.cell_bold), _para(heading, _Styles.cell_bold), ""]]
    for index, label in enumerate(study.classes):
        style = _Styles.cell_bold if index == highlighted else _Styles.cell
        rows.append([_para(study.display_name(label), style),
                     _para(format_percent(probabilities[index], REPORT_DECIMALS), style),
                     _bar(probabilities[index], index == highlighted, bar_width)])
    heading_width = pdfmetrics.stringWidth(heading, _BOLD, _Styles.cell_bold.fontSize) + 8
    table = Table(rows, colWidths=[27 * mm, max(heading_width, 14 * mm), bar_width + 4], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, _RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _header(options: ReportOptions) -> list[Flowable]:
    institution = options.institution or "Institution not set"
    generated = options.timestamp().strftime("Generated %Y-%m-%d %H:%M %Z").strip()
    top = Table([[_para(institution, _Styles.institution), _para(generated, _Styles.generated)]],
                colWidths=["65%", "35%"])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (0, -1), 0),
                             ("RIGHTPADDING", (-1, 0), (-1, -1), 0), ("LINEBELOW", (0, 0), (-1, 0), 0.8, _INK)]))
    return [top, Spacer(1, 3 * mm), _para(REPORT_TITLE, _Styles.title)]


def _patient_block(study: StudyResult, options: ReportOptions) -> Table:
    pairs = patient_rows(study.series_info, options.anonymise)
    rows = [[_para(pairs[i][0], _Styles.cell_bold), _field_para(*pairs[i], _Styles.cell),
             _para(pairs[i + 1][0], _Styles.cell_bold), _field_para(*pairs[i + 1], _Styles.cell)]
            for i in range(0, len(pairs), 2)]
    table = Table(rows, colWidths=["17%", "33%", "17%", "33%"])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, _RULE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f6f7f9")),
                               ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]))
    return table


def _result_section(study: StudyResult, options: ReportOptions, skipped: Sequence[SkippedFile]) -> list[Flowable]:
    section: list[Flowable] = [_para("Study-level result", _Styles.heading)]
    table = None
    if study.verdict_label is None:
        section.append(_para(f"{capitalised(NO_PREDICTION)}: {no_verdict_reason(study)}.", _Styles.verdict))
    else:
        assert study.probabilities is not None and study.verdict_probability is not None  # set with the verdict
        verdict = verdict_text(study, separator=": ", decimals=REPORT_DECIMALS)
        section.append(_para(f"{verdict} mean calibrated probability", _Styles.verdict))
        section += [_para(caution, _Styles.caution) for caution in verdict_cautions(study, REPORT_DECIMALS)]
        table = _probability_table(study, study.probabilities, study.verdict_index, "Mean probability",
                                   bar_width=_SUMMARY_BAR)
    section += _beside_profile(table, study, options)
    section += [Spacer(1, 2 * mm), _para(f"Rule: {study.rule}", _Styles.small)]
    section.append(_para("Findings", _Styles.heading))
    section += [_para(text, _Styles.body) for text in findings_paragraphs(study, options.anonymise, skipped)]
    return section


def _beside_profile(table: Table | None, study: StudyResult, options: ReportOptions) -> list[Flowable]:
    """The mean-probability table with the per-slice probability profile to its right and the profile's caption
    below both, so that the summary, findings, disclaimer and sign-off fit on page 1. The profile is drawn only when
    more than one slice was analysed; without a verdict (no table) it takes the whole width."""
    left: list[Flowable] = [] if table is None else [table]
    if len(study.slice_results) < 2:
        return left
    page_width, page_height = _PAGE_SIZES[options.page_size]
    text_width = page_width - 2 * _MARGIN
    table_width = 0.0 if table is None else table.wrap(text_width, page_height)[0] + _COLUMN_GAP
    figure_width = text_width - table_width
    png = _profile_png(study, study_profile(study), figure_width, _PROFILE_HEIGHT)
    figure = Image(io.BytesIO(png), width=figure_width, height=_PROFILE_HEIGHT)
    caption = _para(PROFILE_CAPTION, _Styles.small)
    if table is None:
        return [Spacer(1, 2 * mm), figure, caption]
    row = Table([[table, figure]], colWidths=[table_width, figure_width], hAlign="LEFT")
    row.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    return [row, caption]


def _profile_png(study: StudyResult, profile: ProbabilityProfile, width: float, height: float) -> bytes:
    """The profile figure (`profile_figure`) as PNG at IMAGE_DPI."""
    buffer = io.BytesIO()
    profile_figure(study, profile, width, height).savefig(buffer, format="png")
    return buffer.getvalue()


def profile_figure(study: StudyResult, profile: ProbabilityProfile, width: float, height: float) -> Figure:
    """The profile drawn by matplotlib for a box of width × height points: a curve per class in the class colours
    through the counted slices, analysed slices shaded, slices without a prediction marked × under the 0% line."""
    from matplotlib.figure import Figure  # lazy: only reports of several slices need it; no pyplot, no GUI state
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width / 72, height / 72), dpi=IMAGE_DPI, layout="constrained")
    axes = figure.add_subplot()
    numbers = np.arange(1, profile.series_length + 1)  # slices counted from 1, as the viewer and report name them
    for run in profile.analysed_runs():
        axes.axvspan(run.start + 0.5, run.stop + 0.5, color=_PROFILE_SHADE, linewidth=0)
    for class_index, label in enumerate(study.classes):
        for number, run in enumerate(profile.runs()):
            axes.plot(numbers[run.start:run.stop], profile.probabilities[run.start:run.stop, class_index] * 100,
                      color=CLASS_COLOURS[label], linewidth=1.0, marker="o", markersize=2.2,
                      label=study.display_name(label) if number == 0 else None)
    missing = profile.indices(SliceState.OUT_OF_DISTRIBUTION) + profile.indices(SliceState.UNREADABLE)
    if missing:  # in a lane of their own under the 0% line, so that they do not read as 0%
        axes.plot(np.array(missing) + 1, np.full(len(missing), _NO_PREDICTION_LANE / 2), linestyle="", marker="x",
                  markersize=4, color=_PROFILE_NO_PREDICTION, label=PROFILE_NO_PREDICTION)
    axes.axhline(0, color=_RULE_HEX, linewidth=0.6)
    axes.set_xlim(0.5, profile.series_length + 0.5)
    axes.set_ylim(_NO_PREDICTION_LANE, 100)
    axes.set_yticks([0, 50, 100])
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(PROFILE_X_LABEL, fontsize=_PROFILE_FONT_SIZE)
    axes.set_ylabel(PROFILE_Y_LABEL, fontsize=_PROFILE_FONT_SIZE)
    axes.tick_params(labelsize=_PROFILE_FONT_SIZE)
    # Above the plot, from the figure's left edge so that the y label's width is not lost: two compact rows beside
    # the probability table, one at the full text width; the constrained layout makes room for it.
    figure.legend(loc="outside upper left", ncol=5 if width > _FULL_WIDTH_LEGEND else 3, frameon=False,
                  fontsize=_PROFILE_FONT_SIZE, handlelength=1.5, columnspacing=1.0)
    return figure


def _disclaimer_box() -> Table:
    headline, _, rest = DISCLAIMER.partition(". ")
    text = f"<b>{escape(headline)}.</b> {escape(rest)}"
    box = Table([[Paragraph(text, _Styles.disclaimer)]])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, _INK),
                             ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fff8e6")),
                             ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    return box


def _skipped_section(skipped: Sequence[SkippedFile], anonymise: bool) -> list[Flowable]:
    if not skipped:
        return []
    heading = _para(f"{SKIPPED_HEADING} ({len(skipped)})", _Styles.heading)
    lines = [_para(line, _Styles.cell) for line in skipped_lines(skipped, anonymise)]
    # A heading never ends a page alone, and a short list is not split across two pages.
    return [KeepTogether([heading] + lines[:_SKIPPED_LINES_WITH_HEADING])] + lines[_SKIPPED_LINES_WITH_HEADING:]


def _sign_off() -> Table:
    line = Table([[_para("Reviewed by (radiologist)", _Styles.small), "", _para("Signature", _Styles.small), "",
                   _para("Date", _Styles.small), ""]],
                 colWidths=["20%", "27%", "11%", "21%", "7%", "14%"], rowHeights=[10 * mm])
    line.setStyle(TableStyle([("LINEBELOW", (1, 0), (1, 0), 0.5, _INK), ("LINEBELOW", (3, 0), (3, 0), 0.5, _INK),
                              ("LINEBELOW", (5, 0), (5, 0), 0.5, _INK), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return line


def _colour_scale(colormap: str, width: float) -> Image:
    strip = np.repeat(colormap_lut(colormap)[None, :, :], 8, axis=0)
    return embedded_image(strip, width, 2.5 * mm)


def _slice_panel(study: StudyResult, result: SliceResult, options: ReportOptions) -> KeepTogether:
    prediction = result.prediction
    title = slice_heading(result, study.display_name, options.anonymise)
    flowables: list[Flowable] = [_para(title, _Styles.cell_bold), Spacer(1, 1.5 * mm)]
    if prediction is None or result.display is None:  # both or neither (`core.analysis.results.analyse_slice`)
        flowables.append(_para(f"Reason: {slice_error(result, options.anonymise)}", _Styles.cell))
        return KeepTogether(flowables + [Spacer(1, 4 * mm)])
    spacing = study.series_info.pixel_spacing if study.series_info is not None else None
    width, height = _image_box(result.display.shape[:2], spacing)
    column = max(width, _PANEL_CAPTION_WIDTH)
    labels = edge_labels(result.orientation)
    mm_per_point = result.display.shape[1] * spacing[1] / width if spacing else None

    def annotated(pixels: np.ndarray) -> AnnotatedSliceImage:
        return AnnotatedSliceImage(pixels, width, height, labels, mm_per_point, (_FONT, _BOLD))

    slice_cell = [annotated(result.display), _para("Slice as displayed", _Styles.small)]
    if prediction.label is None:
        note = [_para(f"Reason: {prediction.ood_reason}", _Styles.cell), Spacer(1, 2 * mm),
                _para(OUT_OF_DISTRIBUTION_PANEL, _Styles.cell)]
        cells, widths = [slice_cell, note], [column + 4 * mm, None]
    else:
        probabilities = _probability_table(study, prediction.probabilities, prediction.predicted_index,
                                           "Probability", bar_width=14 * mm)
        settings = options.overlay
        explanation = settings.explain(prediction)
        class_name = study.display_name(study.classes[explanation.class_index])
        cam = prediction.cam_for(explanation.class_index)
        overlay_cell = [
            annotated(render_overlay(result.display, cam, settings)),
            _colour_scale(settings.colormap, width),
            _para(f"{explanation_caption(study, explanation)}; low → high; {settings.colormap}, "
                  f"{overlay_look_words(settings.opacity, settings.threshold)}", _Styles.small),
        ]
        where = attention_summary(cam, result.orientation, result.display).describe()
        details_cell = [probabilities, Spacer(1, 3 * mm), _para(f"Attention for {class_name} is greatest in {where}.",
                                                               _Styles.cell)]
        cells, widths = [slice_cell, overlay_cell, details_cell], [column + 4 * mm, column + 4 * mm, None]
    panel = Table([cells], colWidths=widths)
    panel.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether(flowables + [panel, Spacer(1, 5 * mm)])


def _slice_section(study: StudyResult, options: ReportOptions) -> list[Flowable]:
    heading = _para(f"Analysed slices ({len(study.slice_results)})", _Styles.heading)
    return [PageBreak(), heading] + [_slice_panel(study, result, options) for result in study.slice_results]


def _running_header(study: StudyResult, options: ReportOptions) -> tuple[Paragraph, float]:
    """The patient line of the pages after the first, wrapped to the text width, and its height."""
    page_width, page_height = _PAGE_SIZES[options.page_size]
    rows = dict(patient_rows(study.series_info, options.anonymise))
    known = [f"{label} {rows[label]}" for label in ("Patient name", "Patient ID", "Birth date", "Study date",
                                                    "Accession no.")
             if rows[label] not in (NOT_AVAILABLE, ANONYMISED)]
    missing = "patient details removed (anonymised)" if options.anonymise else "patient details not available"
    header = _para(f"{REPORT_TITLE} · {' · '.join(known) or missing}", _Styles.running_header)
    _, height = header.wrap(page_width - 2 * _MARGIN, page_height)
    return header, height


def _page_templates(options: ReportOptions, header_height: float) -> list[PageTemplate]:
    """Page 1, and the pages after it, whose text starts below the wrapped patient line."""
    page_width, page_height = _PAGE_SIZES[options.page_size]
    bottom = _MARGIN + _FOOTER_HEIGHT
    later_top = min(page_height - _MARGIN, page_height - _RUNNING_HEADER_TOP - header_height - 3 * mm)
    return [PageTemplate("first", [Frame(_MARGIN, bottom, page_width - 2 * _MARGIN, page_height - _MARGIN - bottom)]),
            PageTemplate("later", [Frame(_MARGIN, bottom, page_width - 2 * _MARGIN, later_top - bottom)])]


def _page_decorations(study: StudyResult, options: ReportOptions, header: Paragraph, header_height: float):
    """A function drawing the footer (and, after page 1, the patient line `header`) on a finished page."""
    page_width, page_height = _PAGE_SIZES[options.page_size]
    model = f"model {study.model_name} {study.model_version} · weights sha256 {study.weights_sha256[:12]}"

    def draw(canvas: Canvas, number: int, total: int) -> None:
        canvas.saveState()
        canvas.setStrokeColor(_RULE)
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN, _FOOTER_HEIGHT + 3, page_width - _MARGIN, _FOOTER_HEIGHT + 3)
        canvas.setFont(_FONT, 7)
        canvas.setFillColor(_MUTED)
        canvas.drawString(_MARGIN, _FOOTER_HEIGHT - 6, f"BrainMRI Assist {core.__version__} · {model}")
        canvas.drawString(_MARGIN, _FOOTER_HEIGHT - 15, "Decision support, not a diagnosis.")
        canvas.setFont(_BOLD, 7.5)
        canvas.drawRightString(page_width - _MARGIN, _FOOTER_HEIGHT - 6, f"Page {number} of {total}")
        if number > 1:
            header.drawOn(canvas, _MARGIN, page_height - _RUNNING_HEADER_TOP - header_height)
        canvas.restoreState()

    return draw


def render_pdf(study: StudyResult, options: ReportOptions, skipped: Sequence[SkippedFile] = ()) -> bytes:
    """The complete report as PDF bytes; `skipped` are the study's files that could not be opened."""
    _register_fonts()
    study, options = printed_inputs(study, options)  # free text shortened, so that every field fits a page
    buffer = io.BytesIO()
    header, header_height = _running_header(study, options)
    document = BaseDocTemplate(
        buffer,
        pagesize=_PAGE_SIZES[options.page_size],
        leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=_MARGIN + _FOOTER_HEIGHT,
        title=REPORT_TITLE,
        author=options.institution or "BrainMRI Assist",
        creator=f"BrainMRI Assist {core.__version__}",
        subject=f"Decision-support classification, model {study.model_name} {study.model_version}",
        pageTemplates=_page_templates(options, header_height),
    )
    story: list[Flowable] = [NextPageTemplate("later")] + _header(options) + [_patient_block(study, options)]
    story += _result_section(study, options, skipped)
    # The sign-off belongs under the disclaimer: when page 1 is full both move on, never the sign-off alone.
    story += [Spacer(1, 3 * mm), KeepTogether([_disclaimer_box(), Spacer(1, 2 * mm), _sign_off()])]
    story += _slice_section(study, options) + _skipped_section(skipped, options.anonymise)
    footer = _page_decorations(study, options, header, header_height)
    document.build(story, canvasmaker=lambda *args, **kwargs: _NumberedCanvas(*args, footer=footer, **kwargs))
    return buffer.getvalue()


def write_pdf(study: StudyResult, path: Path, options: ReportOptions | None = None,
              skipped: Sequence[SkippedFile] = ()) -> None:
    """Lay out the report and write it atomically; `skipped` are the study's files that could not be opened (the
    report lists them). Raises `core.errors.ReportWriteError` on failure."""
    write_bytes_atomically(Path(path), render_pdf(study, options or ReportOptions(), skipped))
