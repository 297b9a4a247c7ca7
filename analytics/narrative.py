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
from analytics.i18n import format_number, normalize_lang, sex_code, site_label, standard_label, t

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
    return format_number(x, lang, decimals)


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


def case_mix_sentence(frame: pd.DataFrame, *, lang: str = "en", site: str | None = None, count: str = "count",
                      n: int = 3) -> str:
    """"Breast (18.2%), lung (11.8%) and stomach (6.2%) accounted for 36.2% of the cases." from
    counts by site: the ``n`` commonest sites (residual groups not ranked) and their joint share
    of all cases. Suppressed counts are left out of the ranking but not of nothing else: the
    share is of the cases shown."""
    lang = normalize_lang(lang)
    site = site or next((c for c in SITE_COLUMNS if c in frame.columns), None)
    if site is None or count not in frame.columns:
        raise ValueError(f"case_mix_sentence: the table needs a site column and {count!r} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    c = pd.to_numeric(frame[count], errors="coerce").where(~suppressed_mask(frame))
    by = c.groupby(frame[site].astype(str), sort=False).sum(min_count=1).dropna()
    total = float(by.sum())
    ranked = by[~by.index.isin(NOT_RANKED)].sort_values(ascending=False, kind="stable").head(n)
    if total <= 0 or ranked.empty:
        return t("charts.narrative_no_data", lang)
    parts = [f"{site_label(s, lang)} ({_num(100 * v / total, lang)}%)" for s, v in ranked.items()]
    listed = parts[0] if len(parts) == 1 else t("charts.narrative_and", lang, first=", ".join(parts[:-1]),
                                                      last=parts[-1])
    return _capitalise(t("charts.narrative_case_mix", lang, sites=listed,
                         share=_num(100 * float(ranked.sum()) / total, lang)), lang)
