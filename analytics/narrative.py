"""Plain-language sentences for headline numbers, in the user's language.

Each function takes the tidy rate frames of :mod:`analytics.rates` (or plain numbers) and
returns one sentence (or one per sex) built from the ``charts.narrative_*`` templates, with
numbers written as the language writes them (:func:`analytics.i18n.format_number`).
Suppressed or missing values never appear in a sentence: the leading site is chosen among
shown values only, and a suppressed headline says why it is not given.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from analytics import schema
from analytics.charts.base import suppressed_mask
from analytics.i18n import format_number, normalize_lang, sex_code, sex_label, site_label, standard_label, t

NOT_RANKED = ("Other", "Other and unspecified", "All sites", "All sites but C44")
SITE_COLUMNS = (schema.SITE_CI5, schema.SITE_GLOBOCAN, "site")


def _capitalise(text: str, lang: str) -> str:
    if not text:
        return text
    first = text[0]
    # Azerbaijani (like Turkish) pairs dotted i with dotted capital İ.
    upper = "\u0130" if (first == "i" and lang == "az") else first.upper()
    return upper + text[1:]


def _group(code: int, lang: str) -> str:
    return t(f"charts.narrative_sex_group_{code}", lang)


def _num(x: float, lang: str, decimals: int = 1) -> str:
    # negative numbers with a typographic minus, never "-0.0" (presets.signed_number)
    from analytics.presets import signed_number
    return signed_number(x, lang, decimals)


def top_site_sentence(frame: pd.DataFrame, sex: int, *, lang: str = "en", standard: str | None = None,
                      site: str | None = None, sex_col: str = schema.SEX, value: str = "value",
                      multiplier: int = 100000, decimals: int = 1) -> str | None:
    """"Among men, Lung had the highest rate, 45.2 per 100,000 (world standard), 1.8 times
    that of women." for ``sex`` (1 men, 2 women) from a rate frame by site and sex.

    The ratio is the rate of the same site in the other sex; it is left out when that rate is
    missing, zero or suppressed (sex-specific sites).  Residual groups ("Other", "All sites")
    are not ranked.  None when the sex has no shown rate.
    """
    lang = normalize_lang(lang)
    site = site or next((c for c in SITE_COLUMNS if c in frame.columns), None)
    if site is None or value not in frame.columns or sex_col not in frame.columns:
        raise ValueError(f"top_site_sentence: the table needs a site column ({', '.join(SITE_COLUMNS)}), "
                         f"{sex_col!r} and {value!r} (columns: {', '.join(map(str, frame.columns))})")
    df = frame.assign(_sex=frame[sex_col].map(sex_code), _v=pd.to_numeric(frame[value], errors="coerce"),
                      _sup=suppressed_mask(frame))
    df = df[~df[site].isin(NOT_RANKED)]
    mine = df[(df["_sex"] == sex) & ~df["_sup"] & np.isfinite(df["_v"].to_numpy(dtype=float, na_value=np.nan))]
    if mine.empty or not (mine["_v"].max() > 0):
        return None
    best = mine.loc[mine["_v"].idxmax()]
    other_code = 2 if sex == 1 else 1
    other = df[(df["_sex"] == other_code) & (df[site] == best[site]) & ~df["_sup"]]["_v"]
    args = dict(sex_group=_group(sex, lang), site=site_label(best[site], lang),
                value=_num(best["_v"], lang, decimals), multiplier=format_number(multiplier, lang, 0),
                standard=standard_label(standard, lang) if standard else t("charts.narrative_standard_unnamed", lang),
                other_group=_group(other_code, lang))
    ratio = float(best["_v"]) / float(other.iloc[0]) if len(other) and float(other.iloc[0]) > 0 else math.nan
    if not math.isfinite(ratio):
        text = t("charts.narrative_top_site_single", lang, **args)
    elif round(ratio, 1) >= 1.0:
        text = t("charts.narrative_top_site", lang, ratio=_num(ratio, lang, 1), **args)
    else:
        text = t("charts.narrative_top_site_lower", lang, inverse=_num(1 / ratio, lang, 1), **args)
    return _capitalise(text, lang)


def top_site_sentences(frame: pd.DataFrame, *, lang: str = "en", standard: str | None = None,
                       site: str | None = None, sexes: Sequence[int] = (1, 2), **kw) -> list[str]:
    """One :func:`top_site_sentence` per sex present (men first)."""
    out = []
    for s in sexes:
        sentence = top_site_sentence(frame, s, lang=lang, standard=standard, site=site, **kw)
        if sentence:
            out.append(sentence)
    return out


def cases_sentence(cases: float, years: Sequence[int] | int, *, lang: str = "en") -> str:
    """"12,345 new cases were registered in 2015–2019, 2,469 a year on average."

    ``years``: (first, last) or the list of years; a single year gives no average clause
    in effect (the average equals the total)."""
    lang = normalize_lang(lang)
    ys = [int(y) for y in (years if isinstance(years, (list, tuple, np.ndarray, pd.Index)) else [years])]
    y0, y1 = min(ys), max(ys)
    n_years = y1 - y0 + 1
    if cases is None or not math.isfinite(float(cases)) or float(cases) <= 0:
        return t("charts.narrative_no_data", lang)
    period = str(y0) if y0 == y1 else f"{y0}\u2013{y1}"
    return _capitalise(t("charts.narrative_cases", lang, cases=format_number(cases, lang, 0), period=period,
                         per_year=format_number(float(cases) / n_years, lang, 0)), lang)


def asr_sentence(value: float, lower: float, upper: float, *, lang: str = "en", standard: str | None = None,
                 sex: int | None = None, conf: float = 0.95, multiplier: int = 100000,
                 suppressed: bool = False, k: int | None = None, decimals: int = 1) -> str:
    """"Among women, the age-standardised rate (world standard) was 45.2 per 100,000
    (95% CI 44.1 to 46.3)."  Without ``sex`` the sentence has no group."""
    lang = normalize_lang(lang)
    if suppressed:
        return t("charts.narrative_suppressed", lang, k=k if k is not None else "k")
    if value is None or not math.isfinite(float(value)):
        return t("charts.narrative_no_data", lang)
    args = dict(value=_num(value, lang, decimals), lower=_num(lower, lang, decimals),
                upper=_num(upper, lang, decimals), multiplier=format_number(multiplier, lang, 0),
                standard=standard_label(standard, lang) if standard else t("charts.narrative_standard_unnamed", lang),
                level=format_number(conf * 100, lang, 0))
    if sex in (1, 2, 0):
        return _capitalise(t("charts.narrative_asr_sex", lang, sex_group=_group(sex, lang), **args), lang)
    return _capitalise(t("charts.narrative_asr", lang, **args), lang)


def crude_rate_sentence(value: float, *, lang: str = "en", multiplier: int = 100000,
                        decimals: int = 1) -> str:
    """"The crude rate was 36.1 per 100,000." (cases / person-years x multiplier)."""
    lang = normalize_lang(lang)
    if value is None or not math.isfinite(float(value)):
        return t("charts.narrative_no_data", lang)
    return _capitalise(t("charts.narrative_crude", lang, value=_num(value, lang, decimals),
                         multiplier=format_number(multiplier, lang, 0)), lang)


def cumulative_risk_sentence(risk_percent: float, *, sex: int = 0, lang: str = "en", decimals: int = 1) -> str:
    """"Among men, the cumulative risk of developing cancer between 0 and 74 years was 12.5%,
    about 1 in 8."  (1 in round(100 / risk), the way CI5 and GLOBOCAN word it.)"""
    lang = normalize_lang(lang)
    if risk_percent is None or not math.isfinite(float(risk_percent)) or float(risk_percent) <= 0:
        return t("charts.narrative_no_data", lang)
    one_in = int(round(100.0 / float(risk_percent)))
    return _capitalise(t("charts.narrative_cum_risk", lang, sex_group=_group(sex, lang),
                         value=_num(risk_percent, lang, decimals), one_in=format_number(one_in, lang, 0)), lang)


def regions_sentence(frame: pd.DataFrame, national: float, *, lang: str = "en", lower: str = "lower",
                     upper: str = "upper") -> str:
    """"3 of 11 regions had a rate significantly higher than the national value and 2
    significantly lower." (CI excludes the national value; suppressed regions not counted.)"""
    lang = normalize_lang(lang)
    shown = frame[~suppressed_mask(frame)]
    lo = pd.to_numeric(shown[lower], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    hi = pd.to_numeric(shown[upper], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    higher, lower_n = int(np.sum(lo > national)), int(np.sum(hi < national))
    return _capitalise(t("charts.narrative_regions", lang, higher=format_number(higher, lang, 0),
                         lower=format_number(lower_n, lang, 0), total=format_number(len(shown), lang, 0)), lang)


def _counts_by_site(frame: pd.DataFrame, site: str | None, count: str, fn: str) -> pd.Series:
    """Counts summed by site group, suppressed cells left out (they must not be ranked)."""
    site = site or next((c for c in SITE_COLUMNS if c in frame.columns), None)
    if site is None or count not in frame.columns:
        raise ValueError(f"{fn}: the table needs a site column and {count!r} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    c = pd.to_numeric(frame[count], errors="coerce").where(~suppressed_mask(frame))
    return c.groupby(frame[site].astype(str), sort=False).sum(min_count=1).dropna()


def case_mix_sentence(frame: pd.DataFrame, *, lang: str = "en", site: str | None = None, count: str = "count",
                      n: int = 3) -> str:
    """"Breast (18.2%), lung (11.8%) and stomach (6.2%) accounted for 36.2% of the cases." from
    counts by site: the ``n`` commonest sites (residual groups not ranked) and their joint share
    of all cases. Suppressed counts are left out of the ranking and of the total: the share is
    of the cases shown."""
    lang = normalize_lang(lang)
    by = _counts_by_site(frame, site, count, "case_mix_sentence")
    total = float(by.sum())
    ranked = by[~by.index.isin(NOT_RANKED)].sort_values(ascending=False, kind="stable").head(n)
    if total <= 0 or ranked.empty:
        return t("charts.narrative_no_data", lang)
    parts = [f"{site_label(s, lang)} ({_num(100 * v / total, lang)}%)" for s, v in ranked.items()]
    listed = parts[0] if len(parts) == 1 else t("charts.narrative_and", lang, first=", ".join(parts[:-1]),
                                                      last=parts[-1])
    return _capitalise(t("charts.narrative_case_mix", lang, sites=listed,
                         share=_num(100 * float(ranked.sum()) / total, lang)), lang)


def _age_start(labels: pd.Series) -> np.ndarray:
    # "0-4" -> 0, "85+" -> 85; anything else (unknown age) -> NaN
    return pd.to_numeric(labels.astype(str).str.extract(r"^\s*(\d+)", expand=False), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


def _age_text(label: str) -> str:
    return str(label).replace("-", "\u2013")


def population_sentence(frame: pd.DataFrame, *, lang: str = "en", population: str = schema.POPULATION,
                        age: str = schema.AGE_GROUP, older: int = 65) -> str:
    """"The average annual population was 10.1 million, 7.2% of it aged 65 or over." from a
    population frame by age group (any other strata, e.g. sex, are summed).  The share is of
    the population of known age; ``older`` must be the start of an age group."""
    lang = normalize_lang(lang)
    if population not in frame.columns or age not in frame.columns:
        raise ValueError(f"population_sentence: the table needs {population!r} and {age!r} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    p = pd.to_numeric(frame[population], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    start = _age_start(frame[age])
    known = np.isfinite(p) & np.isfinite(start)
    total = float(p[known].sum())
    if not total > 0:
        return t("charts.narrative_no_data", lang)
    share = 100 * float(p[known & (start >= older)].sum()) / total
    size = (t("charts.narrative_million", lang, value=_num(total / 1e6, lang, 1)) if total >= 1e6
            else format_number(total, lang, 0))
    return _capitalise(t("charts.narrative_population", lang, population=size, share=_num(share, lang, 1),
                         age=format_number(older, lang, 0)), lang)


def age_specific_sentence(frame: pd.DataFrame, *, lang: str = "en", age: str = schema.AGE_GROUP,
                          value: str = "value", site: str | None = None, sex_col: str = schema.SEX,
                          multiplier: int = 100000, decimals: int = 1) -> str:
    """One line on age-specific rates (Curado et al., CI5 Vol. IX, ch. 7): for one curve,
    "Rates rise with age, from 0.5 per 100,000 at 0–4 to 120.0 at 85+." when the highest rate
    is in the oldest shown age group, else "Rates peak at 80.0 per 100,000 at 60–64."; for
    several curves (sites x sexes) the highest rate and whose it is.  Suppressed rates and
    unknown age are left out."""
    lang = normalize_lang(lang)
    if value not in frame.columns or age not in frame.columns:
        raise ValueError(f"age_specific_sentence: the table needs {age!r} and {value!r} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    site = site or next((c for c in SITE_COLUMNS if c in frame.columns), None)
    keys = [c for c in (site, sex_col) if c is not None and c in frame.columns]
    df = frame.assign(_v=pd.to_numeric(frame[value], errors="coerce"), _a=_age_start(frame[age]))
    df = df[~suppressed_mask(frame).to_numpy() & np.isfinite(df["_v"].to_numpy(dtype=float, na_value=np.nan))
            & np.isfinite(df["_a"].to_numpy())]
    if df.empty or not (df["_v"].max() > 0):
        return t("charts.narrative_no_data", lang)
    mult = format_number(multiplier, lang, 0)
    peak = df.loc[df["_v"].idxmax()]
    series = df[keys].drop_duplicates() if keys else df.iloc[:1]
    if len(series) > 1:
        who = []
        if site is not None and site in df.columns and df[site].nunique() > 1:
            who.append(site_label(peak[site], lang))
        if sex_col in df.columns and df[sex_col].nunique() > 1:
            who.append(sex_label(peak[sex_col], lang))
        return _capitalise(t("charts.narrative_age_peak_series", lang, value=_num(peak["_v"], lang, decimals),
                             multiplier=mult, series=", ".join(who), age=_age_text(peak[age])), lang)
    df = df.sort_values("_a", kind="stable")
    first, last = df.iloc[0], df.iloc[-1]
    if peak["_a"] == last["_a"] and len(df) > 1:
        return _capitalise(t("charts.narrative_age_rise", lang, first=_num(first["_v"], lang, decimals),
                             multiplier=mult, age0=_age_text(first[age]), last=_num(last["_v"], lang, decimals),
                             age1=_age_text(last[age])), lang)
    return _capitalise(t("charts.narrative_age_peak", lang, value=_num(peak["_v"], lang, decimals), multiplier=mult,
                         age=_age_text(peak[age])), lang)


def quality_sentence(frame: pd.DataFrame, indicator: str, *, target: float, direction: str = "higher",
                     lang: str = "en", count: str = "count", total: str = "total", value: str = "value") -> str:
    """"Microscopically verified: 88.6% overall (target ≥ 90%); 3 of 12 below the target." from
    the rows of one percentage indicator of :func:`analytics.quality.indicators` (Bray & Parkin
    2009, Eur J Cancer 45:747-755): the overall value is Σcount / Σtotal, not a mean of the
    strata's percentages.  ``direction`` "higher" (target is a minimum) or "lower" (maximum)."""
    lang = normalize_lang(lang)
    missing = [c for c in (count, total, value) if c not in frame.columns]
    if missing:
        raise ValueError(f"quality_sentence: the table needs {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    if direction not in ("higher", "lower"):
        raise ValueError(f"quality_sentence: direction must be 'higher' or 'lower', not {direction!r}")
    c = pd.to_numeric(frame[count], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    n = pd.to_numeric(frame[total], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    v = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    denom = float(np.nansum(n))
    if not denom > 0:
        return t("charts.narrative_no_data", lang)
    overall = 100 * float(np.nansum(c)) / denom
    shown = v[np.isfinite(v)]
    off = int(np.sum(shown < target)) if direction == "higher" else int(np.sum(shown > target))
    label = t(f"charts.indicator_{indicator}", lang)
    label = label[:-4] if label.endswith(" (%)") else label
    return _capitalise(t(f"charts.narrative_quality_{direction}", lang, indicator=label,
                         value=_num(overall, lang, 1), target=format_number(target, lang, 0),
                         off=format_number(off, lang, 0), strata=format_number(len(shown), lang, 0)), lang)


def prevalence_sentence(count: float, population: float, *, date: str, duration: str, lang: str = "en",
                        sites: pd.DataFrame | None = None, site: str | None = None, count_col: str = "count",
                        multiplier: int = 100000) -> str:
    """"5-year prevalence on 31.12.2019: 12,345 people, 120.5 per 100,000; the largest group:
    Breast (2,345)." — partial prevalence (people alive at ``date`` diagnosed within the
    duration; Pisani et al. 2002, Int J Cancer 97:72) as a count and a proportion of the
    population.  ``duration`` is the translated label ("5-year"); ``sites`` (counts by site,
    residual groups and suppressed counts not ranked) adds the largest site group."""
    lang = normalize_lang(lang)
    if count is None or not math.isfinite(float(count)) or float(count) <= 0 \
            or population is None or not (float(population) > 0):
        return t("charts.narrative_no_data", lang)
    text = t("charts.narrative_prevalence", lang, duration=duration, date=date,
             count=format_number(count, lang, 0), value=_num(float(count) / float(population) * multiplier, lang, 1),
             multiplier=format_number(multiplier, lang, 0))
    if sites is not None and len(sites):
        by = _counts_by_site(sites, site, count_col, "prevalence_sentence")
        by = by[~by.index.isin(NOT_RANKED) & (by > 0)].sort_values(ascending=False, kind="stable")
        if len(by):
            text = text[:-1] + t("charts.narrative_prevalence_top", lang, site=site_label(by.index[0], lang),
                                 count=format_number(by.iloc[0], lang, 0))
    return _capitalise(text, lang)


def funnel_sentence(frame: pd.DataFrame, *, observed: str = "cases", expected: str = "expected",
                    overdispersion: bool = False, conf: float = 0.998, lang: str = "en") -> str:
    """"2 of 11 regions lie above the 99.8% control limit and 1 below." — SIRs (O/E) outside
    the funnel limits around 1 at their expected count (Spiegelhalter 2005, Stat Med 24:1185;
    the limits of :func:`analytics.rates.funnel_limits`, as the funnel plot draws them).
    Suppressed regions (``flag == "suppressed"``) and those with no expected count are left out."""
    from analytics import rates  # deferred: the rates engine is heavy and only this sentence needs it

    lang = normalize_lang(lang)
    missing = [c for c in (observed, expected) if c not in frame.columns]
    if missing:
        raise ValueError(f"funnel_sentence: the table needs {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    o = pd.to_numeric(frame[observed], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    e = pd.to_numeric(frame[expected], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    keep = np.isfinite(o) & np.isfinite(e) & (e > 0) & ~suppressed_mask(frame).to_numpy()
    o, e = o[keep], e[keep]
    if not len(e):
        return t("charts.narrative_no_data", lang)
    lim = rates.funnel_limits(e, kind="ratio", conf=(conf,), observed=o if overdispersion else None,
                              expected=e if overdispersion else None, overdispersion=overdispersion)
    sir = o / e
    # one level asked for: the limit columns are plain "lower" / "upper"
    high = int(np.sum(sir > lim["upper"].to_numpy()))
    low = int(np.sum(sir < lim["lower"].to_numpy()))
    return _capitalise(t("charts.narrative_funnel", lang, high=format_number(high, lang, 0),
                         low=format_number(low, lang, 0), total=format_number(len(e), lang, 0),
                         level=format_number(100 * conf, lang, 0 if round(100 * conf, 6).is_integer() else 1)), lang)


def _shown_values(frame: pd.DataFrame, value: str, name: str, fn: str) -> pd.DataFrame:
    missing = [c for c in (value, name) if c not in frame.columns]
    if missing:
        raise ValueError(f"{fn}: the table needs {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    v = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    keep = np.isfinite(v) & ~suppressed_mask(frame).to_numpy()
    return pd.DataFrame({"name": frame[name].astype(str).to_numpy()[keep], "v": v[keep]})


def range_sentence(frame: pd.DataFrame, value: str, *, label: str, unit: str = "", name: str = schema.REGION_NAME,
                   lang: str = "en", decimals: int = 1) -> str:
    """"Smoking (men) ranges from 28.1% in Shaki to 52.3% in Baku." — the lowest and highest
    regional value of a mapped indicator (first region on ties); suppressed or missing values
    are left out.  ``unit`` "%" is written without a space, any other unit after one."""
    lang = normalize_lang(lang)
    d = _shown_values(frame, value, name, "range_sentence")
    if d.empty:
        return t("charts.narrative_no_data", lang)
    lo, hi = d.loc[d["v"].idxmin()], d.loc[d["v"].idxmax()]
    suffix = "" if not unit or unit == "nan" else (unit if unit == "%" else f" {unit}")
    return _capitalise(t("charts.narrative_range", lang, label=label,
                         low=_num(lo["v"], lang, decimals) + suffix, low_region=lo["name"],
                         high=_num(hi["v"], lang, decimals) + suffix, high_region=hi["name"]), lang)


def sir_map_sentence(frame: pd.DataFrame, *, value: str = "smoothed", significance: str = "significance",
                     name: str = schema.REGION_NAME, lang: str = "en", decimals: int = 2) -> str:
    """"SIR ranges from 0.71 (Shaki) to 1.38 (Baku); 8 regions significantly above 1, 12 below."

    The range is of the mapped column (by default the empirical Bayes smoothed SIR, Clayton &
    Kaldor 1987, Biometrics 43:671); the counts are of the ``significance`` column of
    :func:`analytics.spatial.regional_measures` ("higher" / "lower": the exact Poisson CI of the
    SIR excludes 1).  Suppressed regions are left out of both."""
    lang = normalize_lang(lang)
    d = _shown_values(frame, value, name, "sir_map_sentence")
    if d.empty:
        return t("charts.narrative_no_data", lang)
    lo, hi = d.loc[d["v"].idxmin()], d.loc[d["v"].idxmax()]
    shown = frame[~suppressed_mask(frame).to_numpy()]
    sig = shown[significance].astype(str) if significance in shown.columns else pd.Series(dtype=str)
    return _capitalise(t("charts.narrative_sir_map", lang, low=_num(lo["v"], lang, decimals), low_region=lo["name"],
                         high=_num(hi["v"], lang, decimals), high_region=hi["name"],
                         above=format_number(int((sig == "higher").sum()), lang, 0),
                         below=format_number(int((sig == "lower").sum()), lang, 0)), lang)


def bivariate_sentence(counts: Sequence[Sequence[int]], *, x_label: str, y_label: str = "SIR",
                       lang: str = "en") -> str:
    """"3 of 11 regions are high on both smoking and SIR, 2 low on both." from the 3x3 tertile
    counts of the bivariate map (``counts[i][j]``: risk-factor tertile i, SIR tertile j, 0 low;
    the ``bivariate_counts`` the map's figure carries in ``layout.meta``)."""
    lang = normalize_lang(lang)
    c = np.asarray(counts, dtype=int)
    if c.shape != (3, 3):
        raise ValueError(f"bivariate_sentence: counts must be 3x3 (risk-factor tertile x SIR tertile), not {c.shape}")
    total = int(c.sum())
    if total == 0:
        return t("charts.narrative_no_data", lang)
    return _capitalise(t("charts.narrative_bivariate", lang, high=format_number(int(c[2, 2]), lang, 0),
                         low=format_number(int(c[0, 0]), lang, 0), total=format_number(total, lang, 0),
                         x=x_label, y=y_label), lang)


def regression_sentence(table: pd.DataFrame, term: str, *, x_label: str, conf: float = 0.95,
                        lang: str = "en", decimals: int = 1) -> str:
    """"SIR rises by 4.2% per 1 unit of smoking (95% CI 1.0% to 7.5%)." — the rate ratio of one
    term of :func:`analytics.ecological.ecological_regression` (Poisson log-linear model with
    offset log E; Breslow & Day 1987, Statistical Methods in Cancer Research II, ch. 4) written
    as a percentage change, (RR - 1) x 100, with its confidence interval."""
    lang = normalize_lang(lang)
    need = ["term", "per", "rate_ratio", "rr_lower", "rr_upper"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"regression_sentence: the table needs {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(map(str, table.columns))})")
    row = table[table["term"].astype(str) == term]
    if row.empty or not np.isfinite(float(row["rate_ratio"].iloc[0])):
        return t("charts.narrative_no_data", lang)
    r = row.iloc[0]
    change = 100 * (float(r["rate_ratio"]) - 1)
    per = t("charts.narrative_per_sd" if str(r["per"]) == "1 SD" else "charts.narrative_per_unit", lang)
    key = "charts.narrative_regression_up" if round(change, decimals) >= 0 else "charts.narrative_regression_down"
    return _capitalise(t(key, lang, change=_num(abs(change), lang, decimals), per=per, x=x_label,
                         level=format_number(conf * 100, lang, 0),
                         lower=_num(100 * (float(r["rr_lower"]) - 1), lang, decimals),
                         upper=_num(100 * (float(r["rr_upper"]) - 1), lang, decimals)), lang)


def profile_sentence(profile: pd.DataFrame, *, region: str, significance: str = "significance",
                     lang: str = "en") -> str:
    """"Baku: 2 of 9 indicators significantly higher than the national value, 1 lower." for the
    region profile (spine chart, the Fingertips layout); "higher" / "lower" as the profile's
    ``significance`` column gives them (a CI that excludes the national value)."""
    lang = normalize_lang(lang)
    if significance not in profile.columns:
        raise ValueError(f"profile_sentence: the table needs {significance!r} "
                         f"(columns: {', '.join(map(str, profile.columns))})")
    if profile.empty:
        return t("charts.narrative_no_data", lang)
    sig = profile[significance].astype(str)
    return _capitalise(t("charts.narrative_profile", lang, region=region,
                         higher=format_number(int((sig == "higher").sum()), lang, 0),
                         lower=format_number(int((sig == "lower").sum()), lang, 0),
                         total=format_number(len(profile), lang, 0)), lang)
