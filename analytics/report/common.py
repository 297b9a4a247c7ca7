"""What every section builder shares: the build context (data, options, numbering, the cached
selections) and the formatting of cells in the document's language."""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analytics import schema as S
from analytics import tables
from analytics.cube import Selection
from analytics.i18n import format_number, sex_label, site_label, standard_label, t
from analytics.mortality import INCIDENCE, MORTALITY
from analytics.report.data import ReportData
from analytics.report.model import Figure, Table
from analytics.report.options import ReportOptions

log = logging.getLogger(__name__)
SEXES = (S.MALE, S.FEMALE)
DASH = "\u2013"
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    log.debug("%3.0f%% %s", 100 * fraction, message)


class Context:
    """The inputs of one document and the state shared by its sections: numbering of tables and
    figures, and the rate tables already computed (a selection is computed once per document).

    In public output (``options.public``) ``rule`` is the disclosure rule in force (the
    dashboard's: ``ReportData.disclosure_rule``) and every count comes from the perturbed cubes
    (``ReportData.public_cube``), as on the pages; ``k`` is its threshold (None otherwise)."""

    def __init__(self, data: ReportData, options: ReportOptions, progress: Progress | None = None):
        self.data, self.o = data, options
        self.lang = options.lang
        self.rule = data.disclosure_rule(options.k) if options.public else None
        self.k = self.rule.k if self.rule is not None else None
        self.progress = progress or no_progress
        self.n_table = self.n_figure = 0
        self._memo: dict = {}

    # --- words -------------------------------------------------------------------------------
    def t(self, key: str, **fmt) -> str:
        return t(key, self.lang, **fmt)

    def site(self, label: str) -> str:
        return site_label(str(label), self.lang)

    def sex(self, code: int) -> str:
        return sex_label(code, self.lang)

    @property
    def source(self) -> str:
        return self.t("app.demo_name") if self.data.is_demo else self.data.name

    @property
    def standard_name(self) -> str:
        return standard_label(self.o.standard, self.lang)

    def table_caption(self, text: str) -> str:
        self.n_table += 1
        return self.t("report.caption_table", n=self.n_table, text=text)

    def figure_caption(self, text: str) -> str:
        self.n_figure += 1
        return self.t("report.caption_figure", n=self.n_figure, text=text)

    def rule_short(self) -> str:
        """The disclosure rule in force in a few words (catalogue ``disclosure.rule_short``), "" off."""
        if self.rule is None:
            return ""
        return self.t("disclosure.rule_short", k=self.rule.k, d=self.rule.max_noise)

    # --- numbers -----------------------------------------------------------------------------
    def num(self, x, decimals: int = 1) -> str:
        return format_number(x, self.lang, decimals)

    def fmt(self, x, kind: str = "rate", *, signed: bool = False) -> str:
        """A number with the project's decimal policy for its kind (``analytics.presets.fmt``:
        rates 1, percentages and risks 1, ratios 2, APCs 1 with their sign)."""
        from analytics import presets

        return presets.fmt(x, kind, self.lang, signed=signed)

    def count(self, x, suppression: str = "") -> str:
        """A count as printed: in public output "<k" when withheld (missing, or ``suppression``
        "primary"), the number otherwise; ``suppression="none"``: a missing value is a dash."""
        v = _f(x)
        if suppression == "primary" or (self.k and not np.isfinite(v) and suppression != "none"):
            return f"<{self.k}" if self.k else DASH
        if not np.isfinite(v):
            return DASH
        return format_number(v, self.lang, 0)

    def ci(self, lower, upper, decimals: int = 1) -> str:
        if not (np.isfinite(_f(lower)) and np.isfinite(_f(upper))):
            return DASH
        return f"{self.num(lower, decimals)}{DASH}{self.num(upper, decimals)}"

    # --- the data of a selection ----------------------------------------------------------------
    def cube(self, measure: str = INCIDENCE):
        return self.data.cube(self.o.site_column, measure)

    def memo(self, key, make: Callable):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def selection(self, **changes) -> Selection:
        return self.o.selection(**changes)

    def counts(self, by: Sequence[str] = (), sel: Selection | None = None, measure: str = INCIDENCE, *,
               all_sites: bool = False) -> pd.DataFrame:
        """The rate input of a selection (the whole period, country and sexes by default) of new
        cases or (``measure="mortality"``) deaths by ``by``: published counts in public output."""
        sel = sel or self.selection()
        cube = self.data.public_cube(self.o.site_column, measure) if self.rule is not None else self.cube(measure)
        return self.memo(("counts", tuple(by), sel, measure, all_sites),
                         lambda: tables.selection_counts(cube, sel, by, all_sites=all_sites))

    def ci5_cube(self):
        """The cube the CI5 tables are read from: the perturbed one in public output."""
        return self.data.public_cube(self.o.site_column) if self.rule is not None else self.cube()

    def dsr(self, by: Sequence[str] = (), sel: Selection | None = None, measure: str = INCIDENCE) -> pd.DataFrame:
        """``analytics.tables.dsr_table`` of a selection (the whole period, country and sexes by
        default) of new cases or (``measure="mortality"``) deaths, protected in public output."""
        sel = sel or self.selection()
        by = tuple(by)
        return self.memo(("dsr", by, sel, measure), lambda: tables.dsr_table(
            self.counts(by, sel, measure), by, standard=self.o.standard, method=self.o.method, conf=self.o.conf,
            rule=self.rule))

    def cumulative_risk(self, by: Sequence[str] = (), sel: Selection | None = None,
                        measure: str = INCIDENCE) -> pd.DataFrame:
        sel = sel or self.selection()
        by = tuple(by)
        return self.memo(("cum", by, sel, measure), lambda: tables.cumulative_risk_table(
            self.counts(by, sel, measure), by, method=self.o.method, conf=self.o.conf, rule=self.rule))

    def age_specific(self, by: Sequence[str] = (), sel: Selection | None = None) -> pd.DataFrame:
        sel = sel or self.selection()
        return tables.age_specific_table(self.counts(by, sel), by, conf=self.o.conf, rule=self.rule)

    def mi_ratio(self, by: Sequence[str] = (), sel: Selection | None = None) -> pd.DataFrame:
        """M:I ratio of a selection by ``by``: ``analytics.tables.mi_ratio_table`` on the deaths and
        records, or in public output ``analytics.tables.published_mi_ratio`` on the published counts
        (the Incidence vs mortality page's)."""
        sel = sel or self.selection()
        col = self.o.site_column
        by = tuple(by)
        if self.rule is not None:
            return self.memo(("mi", by, sel), lambda: tables.published_mi_ratio(
                self.counts(by, sel, MORTALITY), self.counts(by, sel), by, self.rule))
        return self.memo(("mi", by, sel), lambda: tables.mi_ratio_table(
            self.data.records, self.data.mortality_events(col), col, sel, by, parents=self.data.parents()))

    def figure(self, fig, title: str, *, note: str = "", width: float = 1.0, height_mm: float | None = None,
               size_px: tuple[int, int] | None = None, key: str = "") -> Figure:
        """A chart block; its printed pixel size is the figure's own height at 860 px wide."""
        h = int(fig.layout.height or 560)
        return Figure(fig, caption=self.figure_caption(title), note=note, width=width, height_mm=height_mm,
                      size_px=size_px or (860, h), key=key)

    def table(self, frame: pd.DataFrame, columns: Sequence[tuple[str, str, Callable]], *, caption: str,
              key: str, note: str = "", size: str = "normal", widths=None, bold: Callable | None = None) -> Table:
        """A table block from ``frame``: ``columns`` are (header, align, cell function of the row)."""
        rows, bold_rows = [], []
        for i, r in enumerate(frame.to_dict("records")):
            rows.append([fn(r) for _, _, fn in columns])
            if bold is not None and bold(r):
                bold_rows.append(i)
        return Table([h for h, _, _ in columns], rows, caption=self.table_caption(caption),
                     align=[a for _, a, _ in columns], widths=widths, note=note, size=size,
                     bold_rows=bold_rows, key=key, frame=frame)


def _f(x) -> float:
    """A cell's number, NaN for missing values (None, pd.NA) and text."""
    try:
        return math.nan if x is None or x is pd.NA else float(x)
    except (TypeError, ValueError):
        return math.nan


def rate_columns(ctx: Context, *, count: str, asr: str, cum_risk: str) -> list[tuple]:
    """The columns every rates-by-sex table of the documents starts with: sex, ``count`` (the
    header of the counts: cases or deaths, published as disclosure control decided), crude rate,
    ``asr`` (the ASR's header), its confidence interval and ``cum_risk`` (0-74 cumulative risk)."""
    level = ctx.num(100 * ctx.o.conf, 0)
    return [(ctx.t("report.col.sex"), "l", lambda r: ctx.sex(int(r[S.SEX]))),
            (count, "r", lambda r: ctx.count(r["count"], suppression_of(r))),
            (ctx.t("report.col.crude"), "r", lambda r: ctx.num(r["crude_rate"])),
            (asr, "r", lambda r: ctx.num(r["value"])),
            (ctx.t("report.col.ci", level=level), "r", lambda r: ctx.ci(r["lower"], r["upper"])),
            (cum_risk, "r", lambda r: ctx.fmt(r["cum_risk"], "percent"))]


def suppression_of(row: dict) -> str:
    """The disclosure status of a table row ("primary" when withheld, "" otherwise)."""
    s = row.get("suppression")
    return s if isinstance(s, str) else ""
