"""The annual report: title page with the reproducibility stamp, then the chosen sections."""
from __future__ import annotations

import datetime as dt
import logging

from analytics.report import dataquality, geography, incidence, outcomes
from analytics.report.common import Context
from analytics.report.data import ReportData, ReportError, software_version
from analytics.report.model import Document, Section, TitlePage
from analytics.report.options import ReportOptions

log = logging.getLogger(__name__)

BUILDERS = {
    "summary": incidence.summary,
    "incidence_tables": incidence.incidence_tables,
    "top_sites": incidence.top_sites,
    "mortality": outcomes.mortality,
    "trends": outcomes.trends,
    "prevalence": outcomes.prevalence_section,
    "regions": geography.regions,
    "quality": dataquality.quality_section,
}


def check_period(data: ReportData, options: ReportOptions) -> None:
    y0, y1 = data.years()
    if options.y0 < y0 or options.y1 > y1:
        raise ReportError(f"the period {options.period_label()} is outside the years of the population "
                          f"({y0}\u2013{y1}). Choose a period within them.")


def stamp(ctx: Context, *, today: dt.date | None = None, sheets: str = "") -> list[tuple[str, str]]:
    """The reproducibility stamp: data files with their SHA-256, records, software, date, options."""
    o, reg = ctx.o, ctx.data.registry
    today = today or dt.datetime.now(dt.timezone.utc).date()
    rows = [(ctx.t("report.stamp.data"), ctx.source)]
    for f in ctx.data.files:
        sha = f"SHA-256 {f.sha256}" if f.sha256 else ctx.t("report.stamp.no_sha")
        rows.append((ctx.t(f"report.stamp.file_{f.role}"), f"{f.name}  {sha}"))
    if not ctx.data.files:
        rows.append((ctx.t("report.stamp.file_extract"), str(reg.source)))
    counted = ctx.dsr(())     # published (perturbed) in public output, as every count of the document
    rows += [
        (ctx.t("report.stamp.records"), ctx.t("report.stamp.records_value", read=ctx.count(reg.n_read, _small(ctx, reg.n_read)),
                                                used=ctx.count(reg.n_used, _small(ctx, reg.n_used)),
                                                excluded=ctx.count(reg.n_excluded, _small(ctx, reg.n_excluded)))),
        (ctx.t("report.stamp.counted"), ctx.t("report.stamp.counted_value", n=ctx.count(
            float(counted["count"].sum()) if len(counted) else 0), period=o.period_label())),
        (ctx.t("report.stamp.software"), software_version()),
        (ctx.t("report.stamp.date"), today.isoformat()),
        (ctx.t("report.stamp.options"), options_text(ctx, sheets)),
    ]
    return rows


def _small(ctx: Context, n) -> str:
    """The file's record counts are exact (they identify the file): in public output one below k
    is printed "<k" all the same."""
    return "primary" if ctx.k and 0 < n < ctx.k else "none"


def options_text(ctx: Context, sheets: str = "") -> str:
    """Every option of the document (``sheets``: the fact sheets' subjects, in place of the
    sections); in public output the disclosure rule's identifier."""
    o = ctx.o
    public = f"on, k={ctx.rule.k}, rule={ctx.rule.fingerprint}" if ctx.rule is not None else "off"
    parts = [f"period={o.y0}-{o.y1}", f"lang={o.lang}", f"sites={o.scheme}", f"standard={o.standard}",
             f"ci={o.method}", f"conf={o.conf:g}", f"public={public}",
             f"sheets={sheets}" if sheets else f"sections={','.join(o.sections)}", f"format={o.format}"]
    return "; ".join(parts)


def properties(ctx: Context, title: str, stamp_rows: list[tuple[str, str]]) -> dict:
    """The file's metadata: title, author, the stamp as description and keywords."""
    main = next((f for f in ctx.data.files if f.role == "extract"), None)
    version = software_version()
    keywords = [f"period:{ctx.o.y0}-{ctx.o.y1}", f"lang:{ctx.o.lang}", f"public:{'on' if ctx.o.public else 'off'}",
                f"software:{version}"]
    if main is not None and main.sha256:
        keywords.insert(0, f"sha256:{main.sha256}")
    short = "; ".join(p for p in (f"{main.name} SHA-256 {main.sha256}" if main is not None else "",
                                  f"{ctx.data.registry.n_used} records used", version,
                                  dict(stamp_rows).get(ctx.t("report.stamp.date"), "")) if p)
    return {"title": title, "author": ctx.source, "subject": ctx.o.period_label(),
            "description": " | ".join(f"{k}: {v}" for k, v in stamp_rows), "comments": short[:255],
            "stamp": list(stamp_rows), "keywords": keywords,
            "identifier": main.sha256 if main is not None else "", "version": version,
            "category": ctx.t("report.category")}


def footer(ctx: Context, today: str) -> str:
    main = next((f for f in ctx.data.files if f.role == "extract"), None)
    parts = [ctx.source]
    if main is not None and main.sha256:
        parts.append(f"SHA-256 {main.sha256[:12]}…")
    parts += [software_version(), today]
    if ctx.rule is not None:
        parts.append(ctx.t("report.footer_public", rule=ctx.rule_short()))
    return " · ".join(parts)


def build(data: ReportData, options: ReportOptions, progress=None) -> tuple[Document, Context]:
    """The annual report's document model (figures not yet rendered)."""
    check_period(data, options)
    ctx = Context(data, options, progress)
    o = options
    today = dt.datetime.now(dt.timezone.utc).date()
    title = ctx.t("report.title", period=o.period_label())
    rows = stamp(ctx, today=today)
    tp = TitlePage(registry=ctx.source, title=title, subtitle=ctx.t("report.subtitle", source=ctx.source),
                   stamp_title=ctx.t("report.stamp.title"), stamp=rows,
                   notice=ctx.t("report.demo_notice") if data.is_demo else "", contents=ctx.t("report.contents"))
    sections: list[Section] = []
    chosen = [s for s in o.sections if s != "methods"]
    for i, key in enumerate(chosen):
        ctx.progress(0.6 * i / max(len(chosen), 1), ctx.t(f"report.section.{key}"))
        log.info("report section %s", key)
        sections.append(BUILDERS[key](ctx))
    for n, sec in enumerate(sections, start=1):
        sec.title = f"{n}. {sec.title}"
    doc = Document(lang=o.lang, title=title, sections=sections, properties=properties(ctx, title, rows),
                   header=f"{title} · {ctx.source}", footer=footer(ctx, today.isoformat()), title_page=tp,
                   kind="report")
    return doc, ctx


def add_methods(doc: Document, ctx: Context, figures_note: str) -> None:
    """The methods section comes last: it says whether the figures could be drawn."""
    if "methods" in ctx.o.sections:
        sec = dataquality.methods(ctx, figures_note)
        sec.title = f"{len(doc.sections) + 1}. {sec.title}"
        doc.sections.append(sec)
