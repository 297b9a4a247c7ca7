"""The registry's annual report and fact sheets, as PDF (Typst) and Word (python-docx).

Documents are assembled from the same pieces as the dashboard's pages: the tables of
:mod:`analytics.tables` on :mod:`analytics.cube` selections, the chart builders of
:mod:`analytics.charts`, the sentences of :mod:`analytics.narrative` and the disclosure control
of public output. No number is computed a second time here.

    from analytics.report import ReportOptions, build_report, data
    pdf = build_report(data.demo(), ReportOptions(period=(2020, 2024), lang="az")).content

Layout: :mod:`~analytics.report.model` (the format-free document), the section builders
(:mod:`~analytics.report.incidence`, :mod:`~analytics.report.outcomes`,
:mod:`~analytics.report.geography`, :mod:`~analytics.report.dataquality`, assembled by
:mod:`~analytics.report.annual`; :mod:`~analytics.report.factsheet`), the writers
(:mod:`~analytics.report.typst_pdf`, :mod:`~analytics.report.word`) and
:mod:`~analytics.report.figures` (charts as SVG).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from analytics.report import annual, factsheet, figures
from analytics.report.common import Progress, no_progress
from analytics.report.data import ReportData, ReportError
from analytics.report.model import Document
from analytics.report.options import FORMATS, SECTIONS, ReportOptions

__all__ = ["Built", "FORMATS", "ReportData", "ReportError", "ReportOptions", "SECTIONS", "build_factsheet",
           "build_report", "render"]
log = logging.getLogger(__name__)
MIME = {"pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@dataclass
class Built:
    """A finished document: the file's bytes, its format and the model it was written from
    (tables keep the numbers their cells were formatted from)."""

    content: bytes
    format: str
    document: Document

    @property
    def mime(self) -> str:
        return MIME[self.format]


def render(doc: Document, fmt: str, *, draw: bool = True, progress: Progress = no_progress,
           start: float = 0.6) -> tuple[bytes, str]:
    """Draw the document's charts (unless ``draw`` is False) and write it as ``fmt``; returns the
    bytes and the sentence put in place of the charts when they could not be drawn ("" if drawn)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    from analytics.i18n import t

    figs = doc.figures()
    note = ""
    if draw:
        note = figures.render(figs, lang=doc.lang, png=fmt == "docx",
                              progress=lambda f, m: progress(start + (0.95 - start) * f, m))
    else:
        for f in figs:
            f.missing = t("report.figures_off", doc.lang)
    progress(0.95, t("report.progress.writing", doc.lang))
    if fmt == "pdf":
        from analytics.report.typst_pdf import write_pdf

        return write_pdf(doc), note
    from analytics.report.word import write_docx

    return write_docx(doc), note


def build_report(data: ReportData, options: ReportOptions, progress: Progress | None = None) -> Built:
    """The annual report of ``data`` for ``options`` as PDF or Word bytes.

    Raises :class:`ReportError` (a sentence) when the period is outside the data."""
    progress = progress or no_progress
    doc, ctx = annual.build(data, options, progress)
    figs_note = ""
    if options.figures:
        from analytics import export

        status = export.export_available(options.lang)
        figs_note = "" if status else status.message
    annual.add_methods(doc, ctx, figs_note)
    content, _ = render(doc, options.format, draw=options.figures, progress=progress)
    progress(1.0, "")
    return Built(content, options.format, doc)


def build_factsheet(data: ReportData, options: ReportOptions, *, sites=(), regions=(), sex: int | None = None,
                    progress: Progress | None = None) -> Built:
    """Fact sheets, one page per site (``sites``: ICD-10 codes or site-group names) and one per
    region (``regions``: district or economic-region codes), as PDF or Word bytes."""
    progress = progress or no_progress
    doc = factsheet.build(data, options, sites=sites, regions=regions, sex=sex, progress=progress)
    content, _ = render(doc, options.format, draw=options.figures, progress=progress, start=0.5)
    progress(1.0, "")
    return Built(content, options.format, doc)
