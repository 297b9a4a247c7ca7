"""Words for data-driven labels: region names, risk factors, data-model fields, check ids.

Labels that come from the data (a region code, a risk-factor code, a column of the data
model) are looked up in the catalogues ``data/i18n/<lang>/regions.json`` (districts and
economic regions of the bundled Azerbaijani boundaries, by code) and ``riskfactors.json``
(name and unit of each indicator code); anything without an entry (a user's own region or
indicator) keeps the name its file gave, so an upload is never shown with blanks.

Every function is vectorised over a Series where a page labels a whole column.
"""
from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from analytics import schema as S
from analytics.i18n import catalogue, normalize_lang, t

DISTRICT, ECONOMIC = "district", "er"
_LEVEL_KEYS = {S.REGION: DISTRICT, S.PARENT: ECONOMIC, DISTRICT: DISTRICT, ECONOMIC: ECONOMIC}


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or str(x) == ""


def region_label(code, lang: str = "en", *, level: str = S.REGION, fallback: str | None = None) -> str:
    """The name of a district (``level`` region_code) or economic region (parent_code) in
    ``lang``: the catalogue's when the code is a bundled one, else ``fallback`` (the name the
    regions file gave), else the code itself."""
    if _blank(code):
        return "" if _blank(fallback) else str(fallback)
    key = f"regions.{_LEVEL_KEYS.get(level, DISTRICT)}.{code}"
    text = catalogue(normalize_lang(lang)).get(key)
    if text is not None:
        return text
    return str(fallback) if not _blank(fallback) else str(code)


def region_labels(codes: pd.Series, lang: str = "en", *, level: str = S.REGION,
                  fallback: Mapping[str, str] | pd.Series | None = None) -> pd.Series:
    """:func:`region_label` of a column of codes (each distinct code looked up once)."""
    fb = dict(fallback) if fallback is not None else {}
    uniq = pd.unique(codes.astype(object))
    names = {c: region_label(c, lang, level=level, fallback=fb.get(c)) for c in uniq}
    return codes.astype(object).map(names)


def risk_factor_name(code: str, lang: str = "en") -> str:
    """Name of a risk-factor indicator (``riskfactors.<code>.name``); the code when unknown."""
    key = f"riskfactors.{code}.name"
    cat = catalogue(normalize_lang(lang))
    return cat.get(key) or catalogue("en").get(key) or str(code)


def risk_factor_unit(code: str, lang: str = "en", fallback: str | None = None) -> str:
    """Unit of a risk-factor indicator (``riskfactors.<code>.unit``), else the file's unit."""
    key = f"riskfactors.{code}.unit"
    text = catalogue(normalize_lang(lang)).get(key)
    if text is not None:
        return text
    return "" if _blank(fallback) or str(fallback) == "nan" else str(fallback)


def risk_factor_label(code: str, lang: str = "en", fallback_unit: str | None = None) -> str:
    """"Daily smoking, men 15+ (%)": name with its unit in brackets."""
    unit = risk_factor_unit(code, lang, fallback_unit)
    name = risk_factor_name(code, lang)
    return f"{name} ({unit})" if unit else name


def field_label(column: str, lang: str = "en") -> str:
    """A column of the data model (``topography``, ``incidence_date``) in words; unknown
    columns (a user's own) as they are."""
    key = f"describe.field.{column}"
    cat = catalogue(normalize_lang(lang))
    return cat.get(key) or str(column)


def check_label(check_id: str, lang: str = "en") -> str:
    """A validation check id (``topography_invalid``) as a sentence in ``lang``."""
    from analytics import quality

    return quality.check_message(str(check_id), lang)


def has_region_names(codes, level: str = S.REGION) -> bool:
    """Does the catalogue name every one of ``codes`` (i.e. are these the bundled regions)?"""
    cat = catalogue("en")
    prefix = f"regions.{_LEVEL_KEYS.get(level, DISTRICT)}."
    return all(f"{prefix}{c}" in cat for c in codes)


def unit_suffix(unit: str) -> str:
    """How a unit follows a number: "%" without a space, any other unit after one."""
    return "" if not unit else (unit if unit == "%" else f" {unit}")


def no_data(lang: str) -> str:
    return t("charts.narrative_no_data", lang)
