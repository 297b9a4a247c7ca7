"""One description of what a chart, table, sentence or download shows.

A :class:`Description` says what is shown — the measure, sex, site (or site list), region,
period, age range, and the standard population, confidence-interval method and reference
*where the measure uses them* — and is built from the frame actually drawn, not from the
sidebar: :func:`describe` reads the sexes, years, sites, regions and age groups present in
the frame, takes everything else from the :class:`Scope` the numbers were computed for, and
compares both with the scope the user asked for. A view that deliberately ignores a filter
(a men/women chart under a "women" filter, a leading site among all sites, a whole-country
map with a region highlighted) then says so in :meth:`Description.notes` — no page has to
remember to.

Which methods a measure uses is a property of the measure (:data:`MEASURES`): an ASR names
its standard population and its CI method, an SIR names its reference and the exact Poisson
interval but no standard population, a case count names neither.

Every rendering takes the language: :meth:`~Description.caption` (the line under a title),
:meth:`~Description.context` (a short phrase for titles), :meth:`~Description.scope_phrase`
(the lead of a sentence), :meth:`~Description.items` (label/value pairs), from which the
export footer (:meth:`~Description.provenance`) and the metadata sheet
(:meth:`~Description.metadata`) are made; :meth:`~Description.as_dict` is the
language-independent form (codes), stored in a figure's ``layout.meta["description"]``.

Example::

    from analytics.describe import Scope, describe
    scope = Scope(years=(2015, 2024), sexes=(2,), site="Stomach", area=("parent_code", "ABS"),
                  site_list="ci5")
    d = describe(table, "asr", scope=scope, standard="europe_2013", ci_method="tiwari", conf=0.95,
                 source="Demo registry")
    d.caption("en")   # "ASR · Women · Stomach (CI5) · Absheron Economic Region · 2015–2024 · ..."
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Mapping, Sequence

import pandas as pd

from analytics import schema as S
from analytics.cube import ALL_BUT_C44, ALL_SITES, SEX_AXIS, Selection
from analytics.i18n import format_number, normalize_lang, sex_code, site_label, standard_label, t
from analytics.labels import region_label

SITE_COLUMNS = ("site", S.SITE_CI5, S.SITE_GLOBOCAN)
REGION_LEVELS = (S.REGION, S.PARENT)
CUMULATIVE_LAST_AGE = "70-74"          # cumulative risk 0-74 (Day 1987; CI5)
SEP = " · "


@dataclasses.dataclass(frozen=True)
class Measure:
    """What a measure uses: a standard population, a kind of CI, a reference (SIR), and
    which parts of the selection it depends on."""

    key: str
    standardised: bool = False
    ci: str | None = None          # "dsr" | "poisson" | "sir" | "wilson" | "funnel" | "model" | "apc" | "eb" | "lisa"
    reference: bool = False
    uses_site: bool = True
    uses_sex: bool = True
    uses_period: bool = True
    uses_ages: bool = True
    last_age: str | None = None    # a measure defined up to an age (cumulative risk 0-74)


def _m(key: str, **kw) -> tuple[str, Measure]:
    return key, Measure(key, **kw)


MEASURES: dict[str, Measure] = dict([
    _m("cases"), _m("crude_rate", ci="poisson"), _m("asr", standardised=True, ci="dsr"),
    _m("cum_risk", last_age=CUMULATIVE_LAST_AGE), _m("age_specific", ci="poisson"),
    _m("ci5_table", standardised=True, last_age=None),
    _m("population", uses_site=False),
    _m("sir", ci="sir", reference=True), _m("smoothed", ci="eb", reference=True),
    _m("smoothed_local", ci="eb", reference=True), _m("prob_gt_1", ci="eb", reference=True),
    _m("significance", ci="sir", reference=True), _m("lisa", ci="lisa", reference=True),
    _m("funnel", ci="funnel", reference=True), _m("profile", standardised=True, reference=True),
    _m("trend", standardised=True, ci="dsr"), _m("apc", standardised=True, ci="apc"),
    _m("prevalence"), _m("prevalence_proportion", ci="wilson"), _m("prevalence_asr", standardised=True),
    _m("projection"), _m("decomposition"),
    _m("quality"),
    _m("risk_factor", uses_site=False, uses_sex=False, uses_period=False, uses_ages=False),
    _m("regression", ci="model", reference=True),
    _m("mi_ratio"),
    # survival: the life table is the reference of net and relative survival
    _m("survival_net", ci="survival", reference=True), _m("survival_relative", ci="survival", reference=True),
    _m("survival_observed", ci="survival"),
])


@dataclasses.dataclass(frozen=True)
class Scope:
    """What the numbers are restricted to: period, sexes, one site (or all), one area (or the
    whole country), age groups; ``site_list`` "ci5" or "globocan"."""

    years: tuple[int, int]
    sexes: tuple[int, ...] = SEX_AXIS
    site: str = ALL_SITES
    area: tuple[str, str] | None = None        # (region_code | parent_code, code); None: whole country
    ages: tuple[str, ...] = tuple(S.AGE_GROUPS)
    site_list: str | None = None

    @classmethod
    def from_selection(cls, selection: Selection, *, area: tuple[str, str] | None = None,
                       site_list: str | None = None) -> "Scope":
        """The scope of an :class:`analytics.cube.Selection` (its districts named by ``area``)."""
        return cls(years=tuple(selection.years), sexes=tuple(selection.sexes), site=selection.site, area=area,
                   ages=tuple(selection.ages), site_list=site_list)

    def replace(self, **changes) -> "Scope":
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class Description:
    """What one view shows (build it with :func:`describe`)."""

    measure: str | None
    scope: Scope
    by: tuple[str, ...] = ()                    # dimensions shown one by one: sex, site, year, region level, age_group
    sites: tuple[str, ...] = ()                 # the sites shown, when by site
    regions: tuple[str, ...] = ()               # the regions shown, when by region
    standard: str | None = None
    ci_method: str | None = None
    conf: float | None = None
    reference: str | None = None                # "national" | "economic" | a file name
    highlight: str | None = None                # region outlined on a whole-country map
    ignored: tuple[tuple[str, str], ...] = ()   # (filter, what was asked) the view does not apply
    notes: tuple[str, ...] = ()                 # further sentences, already in the page's language
    label: str | None = None                    # the measure in words, overriding the catalogue's
    source: str = ""
    public: bool = False
    names: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    date: str = dataclasses.field(default_factory=lambda: dt.date.today().isoformat())

    # --- what applies ---------------------------------------------------------------
    @property
    def spec(self) -> Measure:
        return MEASURES.get(self.measure or "", Measure(self.measure or "", standardised=True, ci="dsr"))

    @property
    def uses_standard(self) -> bool:
        return self.spec.standardised and bool(self.standard)

    @property
    def ages_shown(self) -> tuple[str, ...]:
        ages = self.scope.ages
        last = self.spec.last_age
        if last is not None and last in S.AGE_GROUPS:
            ages = tuple(a for a in ages if S.AGE_GROUPS.index(a) <= S.AGE_GROUPS.index(last))
        return ages

    # --- parts in words -----------------------------------------------------------
    def measure_text(self, lang: str) -> str:
        if self.label:
            return self.label
        return t(f"describe.measure.{self.measure}", lang) if self.measure else ""

    def sex_text(self, lang: str) -> str:
        sexes = set(self.scope.sexes)
        if "sex" in self.by and len(sexes) > 1:
            return t("describe.sex.separately", lang)
        if {S.MALE, S.FEMALE} <= sexes:
            return t("describe.sex.both", lang)
        if sexes == {S.MALE}:
            return t("describe.sex.male", lang)
        if sexes == {S.FEMALE}:
            return t("describe.sex.female", lang)
        return t("describe.sex.unknown", lang)

    def site_name(self, label: str, lang: str) -> str:
        if label == ALL_SITES:
            return t("describe.site.all", lang)
        if label == ALL_BUT_C44:
            return t("describe.site.all_but_c44", lang)
        return site_label(label, lang)

    def site_text(self, lang: str) -> str:
        if "site" in self.by and self.sites:
            if len(self.sites) <= 3:
                return ", ".join(self.site_name(s, lang) for s in self.sites)
            return t("describe.site.groups", lang, n=format_number(len(self.sites), lang, 0),
                     list=self.site_list_text(lang) or t("describe.site_list.own", lang))
        return self.site_name(self.scope.site, lang)

    def site_list_text(self, lang: str) -> str:
        return t(f"describe.site_list.{self.scope.site_list}", lang) if self.scope.site_list else ""

    def region_name(self, level: str, code: str, lang: str) -> str:
        return region_label(code, lang, level=level, fallback=self.names.get(code))

    def region_text(self, lang: str) -> str:
        level = next((b for b in self.by if b in REGION_LEVELS), None)
        if level is not None:
            text = t("describe.region.by_er" if level == S.PARENT else "describe.region.by_district", lang,
                     n=format_number(len(self.regions), lang, 0))
        elif self.scope.area is None:
            text = t("describe.region.all", lang)
        else:
            text = self.region_name(*self.scope.area, lang)
        if self.highlight:
            lvl = self.scope.area[0] if self.scope.area else (level or S.REGION)
            text += "; " + t("describe.region.highlight", lang, name=self.region_name(lvl, self.highlight, lang))
        return text

    def period_text(self) -> str:
        y0, y1 = self.scope.years
        return f"{y0}\u2013{y1}" if y1 > y0 else str(y0)

    def ages_text(self, lang: str) -> str:
        return ages_text(self.ages_shown, lang)

    def standard_text(self, lang: str) -> str:
        return standard_label(self.standard, lang) if self.uses_standard else ""

    def method_text(self, lang: str) -> str:
        """The interval (or smoothing) the measure uses, with its level; "" when none."""
        ci = self.spec.ci
        level = self._level(lang)
        if ci is None:
            return ""
        if ci == "dsr":
            if not self.ci_method:
                return ""
            return t("describe.ci.dsr", lang, method=t(f"app.ci.{self.ci_method}", lang), level=level)
        if ci in ("poisson", "sir", "wilson", "model", "apc", "survival") and not level:
            return ""
        return t(f"describe.ci.{ci}", lang, level=level)

    def _level(self, lang: str) -> str:
        if self.conf is None:
            return ""
        pct = 100 * float(self.conf)
        return format_number(pct, lang, 0 if round(pct, 6).is_integer() else 1)

    def reference_text(self, lang: str) -> str:
        if not (self.spec.reference and self.reference):
            return ""
        if self.reference in ("national", "economic"):
            return t(f"describe.reference.{self.reference}", lang)
        if self.spec.key.startswith("survival"):
            return t("describe.reference.lifetable", lang, name=self.reference)
        return t("describe.reference.user", lang, name=self.reference)

    def notes_text(self, lang: str) -> list[str]:
        """Sentences for every filter the view does not apply, then the page's own notes."""
        out = [self._ignored_sentence(what, asked, lang) for what, asked in self.ignored]
        return out + list(self.notes)

    def _ignored_sentence(self, what: str, asked: str, lang: str) -> str:
        shown = {"sex": self.sex_text, "site": self.site_text, "region": self.region_text,
                 "period": lambda lg: self.period_text(), "ages": self.ages_text}[what](lang)
        if what == "region" and self.highlight:
            return t("describe.ignored.region_highlight", lang, asked=asked)
        return t(f"describe.ignored.{what}", lang, asked=asked, shown=shown)

    # --- renderings ------------------------------------------------------------------
    def items(self, lang: str = "en") -> list[tuple[str, str, str]]:
        """(key, label, value) of every item that applies, in reading order."""
        lang = normalize_lang(lang)
        spec = self.spec
        site = self.site_text(lang)
        if site and self.scope.site_list and spec.uses_site and not ("site" in self.by and len(self.sites) > 3):
            site = f"{site} ({self.site_list_text(lang)})"
        parts = [("measure", self.measure_text(lang)),
                 ("sex", self.sex_text(lang) if spec.uses_sex else ""),
                 ("site", site if spec.uses_site else ""),
                 ("region", self.region_text(lang)),
                 ("period", self.period_text() if spec.uses_period else ""),
                 ("ages", self.ages_text(lang) if spec.uses_ages else ""),
                 ("standard", self.standard_text(lang)),
                 ("method", self.method_text(lang)),
                 ("reference", self.reference_text(lang))]
        return [(k, t(f"describe.item.{k}", lang), v) for k, v in parts if v]

    def caption(self, lang: str = "en", *, with_measure: bool = True) -> str:
        """"ASR · Women · Stomach (CI5) · Absheron Economic Region · 2015–2024 · all ages ·
        European standard 2013 · Tiwari…, 95 % CI", then the notes."""
        vals = [v for k, _, v in self.items(lang) if with_measure or k != "measure"]
        text = SEP.join(vals)
        notes = self.notes_text(lang)
        return text + (". " + " ".join(notes) if notes else "")

    def context(self, lang: str = "en", *, site: bool = False, sex: bool = True, period: bool = True) -> str:
        """A short phrase for a title: the sex, region and age range when restricted, the
        period; "women, Absheron Economic Region, 2015–2024"."""
        lang = normalize_lang(lang)
        spec = self.spec
        out = []
        if site and spec.uses_site and not ("site" in self.by):
            out.append(self.site_text(lang))
        if sex and spec.uses_sex and ("sex" in self.by or not {S.MALE, S.FEMALE} <= set(self.scope.sexes)):
            out.append(self.sex_text(lang))
        if self.scope.area is not None:    # a breakdown by region is the title's own subject
            out.append(self.region_text(lang))
        elif self.highlight:
            out.append(self.region_text(lang))
        if spec.uses_ages and tuple(self.ages_shown) != tuple(S.AGE_GROUPS) and spec.last_age is None:
            out.append(self.ages_text(lang))
        if period and spec.uses_period:
            out.append(self.period_text())
        return ", ".join(x for x in out if x)

    def scope_phrase(self, lang: str = "en") -> str:
        """The lead of a sentence: site, sex, region and (when restricted) ages;
        "Stomach, women, Absheron Economic Region"."""
        lang = normalize_lang(lang)
        spec = self.spec
        out = [self.site_text(lang) if spec.uses_site else "", self.sex_text(lang) if spec.uses_sex else "",
               self.region_text(lang)]
        if spec.uses_ages and (tuple(self.ages_shown) != tuple(S.AGE_GROUPS) and spec.last_age is None):
            out.append(self.ages_text(lang))
        text = ", ".join(x for x in out if x)
        return text[:1].upper() + text[1:]

    def metadata(self, lang: str = "en", *, title: str = "") -> dict[str, Any]:
        """The metadata sheet of a table download (``analytics.export.table_to_excel``):
        title, what is shown, and every applicable method; the rest said not to apply."""
        lang = normalize_lang(lang)
        items = {k: (label, v) for k, label, v in self.items(lang)}
        filters = {items[k][0]: items[k][1] for k in ("measure", "sex", "site", "region", "ages", "reference")
                   if k in items}
        na = t("describe.not_applicable", lang)
        out: dict[str, Any] = {}
        if title:
            out[t("describe.item.title", lang)] = title
        out.update({"source": self.source, "period": items.get("period", ("", na))[1], "filters": filters,
                    "standard": items.get("standard", ("", na))[1], "method": items.get("method", ("", na))[1],
                    "date": self.date})
        notes = self.notes_text(lang)
        if notes:
            out[t("describe.item.notes", lang)] = " ".join(notes)
        return out

    def provenance(self, lang: str = "en"):
        """The export footer (``analytics.charts.base.Provenance``): source, period, standard and
        method only when the measure uses them, then measure, sex, site, region, ages, reference
        and the notes."""
        from analytics.charts.base import Provenance

        lang = normalize_lang(lang)
        items = {k: (label, v) for k, label, v in self.items(lang)}
        extra = {items[k][0]: items[k][1] for k in ("measure", "sex", "site", "region", "ages", "reference")
                 if k in items}
        notes = self.notes_text(lang)
        if notes:
            extra[t("describe.item.notes", lang)] = " ".join(notes)
        return Provenance(source=self.source, period=items.get("period", ("", ""))[1],
                          standard=items.get("standard", ("", ""))[1], method=items.get("method", ("", ""))[1],
                          date=self.date, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        """Language-independent: codes and labels of what is shown (figure ``layout.meta``)."""
        return {"measure": self.measure, "years": list(self.scope.years), "sexes": list(self.scope.sexes),
                "site": self.scope.site, "site_list": self.scope.site_list,
                "area": list(self.scope.area) if self.scope.area else None, "ages": list(self.ages_shown),
                "by": list(self.by), "sites": list(self.sites), "regions": list(self.regions),
                "standard": self.standard if self.uses_standard else None,
                "ci_method": self.ci_method if self.spec.ci == "dsr" else None,
                "conf": self.conf if self.spec.ci else None,
                "reference": self.reference if self.spec.reference else None,
                "highlight": self.highlight, "ignored": [w for w, _ in self.ignored]}

    def replace(self, **changes) -> "Description":
        return dataclasses.replace(self, **changes)


def ages_text(ages: Sequence[str], lang: str = "en") -> str:
    """"all ages", "ages 40–74", "ages 65 and over" from contiguous age-group labels."""
    ages = [a for a in S.AGE_GROUPS if a in set(ages)]
    if not ages or tuple(ages) == tuple(S.AGE_GROUPS):
        return t("describe.ages.all", lang)
    lo = ages[0].split("-")[0].rstrip("+")
    last = ages[-1]
    if last.endswith("+"):
        return t("describe.ages.from", lang, lo=lo)
    return t("describe.ages.range", lang, lo=lo, hi=last.split("-")[1])


# --- building a description from the frame shown ----------------------------------------------
def _distinct(column: pd.Series) -> list[str]:
    """The column's distinct non-missing values as text, in order of first appearance. The
    values are made Python objects at once (an Arrow-backed column iterated element by element
    costs milliseconds on a table of a few hundred rows: every page draws several per rerun)."""
    values = pd.unique(column.dropna().to_numpy(dtype=object))
    return list(dict.fromkeys(str(v) for v in values))


def _shown(frame: pd.DataFrame | None, scope: Scope) -> tuple[Scope, tuple[str, ...], tuple, tuple]:
    """The scope as the frame shows it: its sexes, years, sites, regions and ages."""
    if frame is None or not len(frame.columns):
        return scope, (), (), ()
    columns = set(frame.columns)      # a set: each lookup in a fresh frame's Index builds its hash table
    by: list[str] = []
    sites: tuple = ()
    regions: tuple = ()
    if S.SEX in columns:
        codes = sorted({sex_code(v) for v in frame[S.SEX].dropna().unique()} - {0})
        if codes:
            scope = scope.replace(sexes=tuple(codes))
            if len(codes) > 1:
                by.append("sex")
    if S.YEAR in columns:
        years = pd.to_numeric(frame[S.YEAR], errors="coerce").dropna()
        if len(years):
            scope = scope.replace(years=(int(years.min()), int(years.max())))
            if years.nunique() > 1:
                by.append("year")
    col = next((c for c in SITE_COLUMNS if c in columns), None)
    if col is not None:
        labels = [s for s in _distinct(frame[col]) if s not in (ALL_SITES, "All sites")]
        if len(labels) > 1:
            by.append("site")
            sites = tuple(labels)
        elif len(labels) == 1:
            scope = scope.replace(site=labels[0])
    for level in REGION_LEVELS:
        if level in columns:
            codes = [c for c in _distinct(frame[level]) if c != ""]
            if len(codes) > 1:
                by.append(level)
                regions = tuple(codes)
                scope = scope.replace(area=None)
            elif len(codes) == 1:
                scope = scope.replace(area=(level, codes[0]))
            break
    if S.AGE_GROUP in columns:
        present = set(_distinct(frame[S.AGE_GROUP]))
        ages = [a for a in S.AGE_GROUPS if a in present]
        if ages:
            scope = scope.replace(ages=tuple(ages))
            if len(ages) > 1:
                by.append(S.AGE_GROUP)
    return scope, tuple(by), sites, regions


def _ignored(shown: Scope, by: tuple[str, ...], requested: Scope, spec: Measure,
             highlight: str | None, asked: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The filters the user set that the view does not apply, each with what was asked."""
    out = []
    if spec.uses_sex and set(requested.sexes) != set(SEX_AXIS) and set(shown.sexes) - set(requested.sexes):
        out.append("sex")
    specific = requested.site not in (ALL_SITES, ALL_BUT_C44)
    if spec.uses_site and (("site" in by and specific) or ("site" not in by and shown.site != requested.site)):
        out.append("site")
    if requested.area is not None and shown.area != requested.area:
        out.append("region")
    if spec.uses_period and tuple(shown.years) != tuple(requested.years):
        out.append("period")
    if spec.uses_ages and tuple(shown.ages) != tuple(requested.ages):
        out.append("ages")
    return tuple((w, asked.get(w, "")) for w in out)


def describe(frame: pd.DataFrame | None, measure: str | None, *, scope: Scope, requested: Scope | None = None,
             asked: Mapping[str, str] | None = None, **kw: Any) -> Description:
    """The :class:`Description` of ``frame`` drawn as ``measure``.

    ``scope``: what the numbers were computed for; the frame's own sex, year, site, region and
    age-group columns override it (a frame by sex shows the sexes it holds). ``requested``:
    what the user asked for (the sidebar), default ``scope``; every filter of ``requested``
    that the frame does not follow is listed in ``ignored`` with ``asked[filter]`` (the
    user's choice in words) so that the notes can name it. Further keywords are fields of
    :class:`Description` (standard, ci_method, conf, reference, highlight, notes, label,
    source, public, names).
    """
    if measure is not None and measure not in MEASURES:
        raise ValueError(f"describe: unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    requested = requested or scope
    shown, by, sites, regions = _shown(frame, scope)
    spec = MEASURES.get(measure or "", Measure(measure or "", standardised=True, ci="dsr"))
    ignored = _ignored(shown, by, requested, spec, kw.get("highlight"), asked or {})
    return Description(measure=measure, scope=shown, by=by, sites=sites, regions=regions, ignored=ignored, **kw)
