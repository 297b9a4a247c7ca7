"""Plain-language readings of survival estimates, in the user's language, built from the numbers
shown (``survival.reading.*`` templates in ``data/i18n/<lang>/survival.json``)::

    "5-year net survival for women with breast cancer diagnosed in 2015–2019 was 78% (95% CI 75 to 81)."

Percentages are rounded to whole numbers, as in CONCORD's tables; no sentence for a missing estimate.
"""
from __future__ import annotations

import math

from analytics.i18n import format_number, normalize_lang, site_label, t

WHO = {"both": "survival.who.both", "male": "survival.who.male", "female": "survival.who.female"}


def _pct(x: float, lang: str) -> str:
    return format_number(100 * x, lang, 0)


def survival_sentence(estimate: float, lower: float, upper: float, *, years: float, measure: str = "net",
                      sex: str = "both", site: str | None = None, period: str = "", approach: str = "cohort",
                      conf: float = 0.95, lang: str = "en", standardised: bool = False) -> str | None:
    """One sentence for one estimate; ``site`` a site-group label (None or "all" for all sites);
    ``sex`` "both", "male" or "female"; ``approach`` decides "diagnosed in" or "followed in"."""
    if estimate is None or not math.isfinite(float(estimate)):
        return None
    lang = normalize_lang(lang)
    site_text = (t("survival.reading.all_sites", lang) if site in (None, "all", "all_but_c44", "All sites")
                 else site_label(site, lang))
    key = "survival.reading.period" if approach == "period" else "survival.reading.cohort"
    text = t(key, lang, years=format_number(years, lang, 0), measure=t(f"survival.reading.measure_{measure}", lang),
             who=t(WHO.get(sex, WHO["both"]), lang), site=site_text, period=period, value=_pct(estimate, lang),
             level=format_number(100 * conf, lang, 0), lower=_pct(lower, lang), upper=_pct(upper, lang))
    if standardised:
        text = text.rstrip(".") + t("survival.reading.standardised", lang)
    return text[0].upper() + text[1:] if text else text


def completeness_sentence(clark_c: float, pct_lost: float, *, lang: str = "en") -> str:
    """"Follow-up completeness (Clark's C) 97.2%; 3.0% of patients lost to follow-up." """
    return t("survival.reading.completeness", lang, c=format_number(clark_c, lang, 1),
             lost=format_number(pct_lost, lang, 1))
