"""Tables as the user sees them: translated headers and translated codes.

The frame a page computes keeps its stable analytics column names and codes (the CSV and
Excel downloads carry them, so a researcher's script can read them); what is drawn on screen
is a copy whose site names, sexes, statuses, flags and check messages are in the page's
language, with translated column headers given to ``st.dataframe`` as ``column_config``.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit import dataframe_util

from analytics import schema as S
from analytics.i18n import sex_label
from app_support.text import t

# Column -> catalogue key of its header; quality indicators use the charts namespace.
HEADERS = {
    S.YEAR: "app.col.year", S.SEX: "app.col.sex", "site": "app.col.site", S.SITE_CI5: "app.col.site",
    S.SITE_GLOBOCAN: "app.col.site", S.REGION: "app.col.district_code", S.PARENT: "app.col.er_code",
    "region_name": "app.col.region", "name": "app.col.name", S.AGE_GROUP: "app.col.age_group",
    "age_start": "app.col.age_start", "count": "app.col.count", "unknown_age": "app.col.unknown_age",
    "population": "app.col.population", "crude_rate": "app.col.crude_rate", "value": "app.col.asr",
    "se": "app.col.se", "lower": "app.col.lower", "upper": "app.col.upper", "flag": "app.col.flag",
    "status": "app.col.status", "suppressed": "app.col.suppressed", "total": "app.col.total",
    "indicator": "app.col.indicator", "all_ages": "app.col.all_ages", "cum_rate_0_74": "app.col.cum_rate_0_74",
    "cum_risk_0_74": "app.col.cum_risk_0_74", "asr": "app.col.asr", "asr_se": "app.col.asr_se",
    "percent": "app.col.percent", "cum_risk": "app.col.cum_risk", "cum_rate": "app.col.cum_rate",
    S.ROW: "app.col.row", "check": "app.col.check", "severity": "app.col.severity", "column": "app.col.column",
    "message": "app.col.message", "reason": "app.col.reason", "description": "app.col.description",
    "records": "app.col.records", "stage": "app.col.stage", "item": "app.col.item",
}
INDICATORS = ("mv_pct", "dco_pct", "clinical_pct", "unknown_basis_pct", "unknown_age_pct", "unknown_sex_pct",
              "c80_pct", "c76_c80_pct", "mi_ratio")
STATUS_KEYS = {"higher": "app.status.higher", "lower": "app.status.lower", "same": "app.status.same"}
RECON_STATUS = {"used": "app.recon.used", "excluded": "app.recon.excluded"}
PROJECTION_METHODS = ("demographic", "scenario", "nordpred")


# Ids shown as words elsewhere in the same row: hidden on screen (the downloads keep them).
HIDDEN_WITH = {"check": "message", "reason": "description", "model_reason": "model_choice"}
SIGNIFICANCE = {"higher": "maps.sig_higher", "lower": "maps.sig_lower", "not significant": "maps.sig_not_significant",
                "same": "maps.sig_not_significant"}
LISA = {"high-high": "maps.lisa_high_high", "low-low": "maps.lisa_low_low", "high-low": "maps.lisa_high_low",
        "low-high": "maps.lisa_low_high", "not significant": "maps.lisa_not_significant"}


def header(column: Any, lang: str, overrides: dict[str, str] | None = None) -> str | None:
    """The column's header in ``lang``: the page's override, the app's and the describe
    catalogues' column names, quality indicators, risk-factor codes; None to keep the name."""
    from analytics.i18n import has_key

    col = str(column)
    if overrides and col in overrides:
        return overrides[col]
    if col in HEADERS:
        return t(HEADERS[col], lang)
    if col in INDICATORS:
        return t(f"charts.indicator_{col}", lang)
    if has_key(f"describe.col.{col}"):
        return t(f"describe.col.{col}", lang)
    if has_key(f"riskfactors.{col}.name"):
        from analytics.labels import risk_factor_label

        return risk_factor_label(col, lang)
    return None


def _words(out: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Codes of the analytics frames in words: significance, LISA clusters, reconciliation
    stages, data-model fields, regression terms and their units."""
    from analytics import labels

    def mapped(col: str, table: dict[str, str]) -> None:
        if col in out and set(out[col].dropna().astype(str)) <= set(table):
            out[col] = out[col].astype(str).map(lambda v: t(table[v], lang)).where(out[col].notna(), "")

    mapped("significance", SIGNIFICANCE)
    for col in ("quadrant", "cluster"):
        mapped(col, LISA)
    if "model" in out:   # the fitted family (analytics.ecological): its name in this language
        out["model"] = out["model"].astype(str).map(
            lambda v: t(f"models.family.{v}", lang) if v and v != "nan" else "")
    if "warnings" in out and "converged" in out:   # a model's fitting messages (English) in the download only
        out["warnings"] = out["warnings"].map(lambda v: t("describe.fit_problem", lang) if isinstance(v, str) and v
                                              else "")
    if "stage" in out:
        out["stage"] = out["stage"].astype(str).map(lambda v: t(f"describe.stage.{v}", lang))
    if "column" in out and "check" in out:
        out["column"] = out["column"].map(lambda c: labels.field_label(c, lang) if isinstance(c, str) else c)
    if "term" in out:
        out["term"] = out["term"].astype(str).map(
            lambda v: t("describe.intercept", lang) if v == "intercept" else labels.risk_factor_name(v, lang))
    if "per" in out:
        out["per"] = out["per"].astype(str).map(lambda v: t("charts.narrative_per_sd" if v == "1 SD" else
                                                            "charts.narrative_per_unit", lang) if v in ("1 SD", "1 unit") else v)
    for col, shown in (("check", "message"), ("reason", "description")):
        if col in out and shown not in out:   # no sentence beside it: the id becomes one
            out[col] = out[col].astype(str).map(lambda v: labels.check_label(v, lang))
    return out


def _flag_texts(table: pd.DataFrame, lang: str) -> pd.Series:
    """Rate flags (codes joined by the rates engine) as sentences (analytics.rates.flag_labels;
    thresholds from the frame's attrs)."""
    from analytics import rates

    return rates.flag_labels(table, lang)


def localise(table: pd.DataFrame, lang: str, site_name: Callable[[str], str] | None = None) -> pd.DataFrame:
    """A copy with codes shown in words: site names, sexes, region status, flags, messages."""
    out = table.copy()
    if not len(out):
        return out
    for col in ("site", S.SITE_CI5, S.SITE_GLOBOCAN):
        if col in out and site_name is not None:
            out[col] = out[col].map(lambda s: site_name(s) if isinstance(s, str) else s)
    if S.SEX in out and out[S.SEX].dtype != object and str(out[S.SEX].dtype) != "str":
        out[S.SEX] = out[S.SEX].map(lambda v: sex_label(v, lang) if v == v else "")
    if "status" in out and set(out["status"].dropna().astype(str)) <= set(STATUS_KEYS) | set(RECON_STATUS):
        keys = {**STATUS_KEYS, **RECON_STATUS}
        out["status"] = out["status"].astype(str).map(lambda s: t(keys[s], lang))
    if "method" in out and set(out["method"].dropna().astype(str)) <= set(PROJECTION_METHODS):
        out["method"] = out["method"].astype(str).map(lambda m: t(f"trends.method.{m}", lang))
    if "flag" in out:
        out["flag"] = _flag_texts(table, lang).to_numpy()
    from analytics.presets import fmt_p

    for col in [c for c in out.columns if str(c) == "p_value" or str(c).endswith("_p")]:
        # on screen "< 0.001", never "0.000" (the downloads keep the number)
        out[col] = [fmt_p(v, lang, prefix=False) for v in pd.to_numeric(out[col], errors="coerce")]
    out = _words(out, lang)
    if "indicator" in out:
        out["indicator"] = out["indicator"].astype(str).map(lambda i: t(f"charts.indicator_{i}", lang)
                                                            if i in INDICATORS else i)
    from analytics import quality

    if {"check", "message"} <= set(out.columns):
        # validation flags: the check's message and severity in this language (check id kept)
        out = quality.translate_flags(out, lang)
    elif {"reason", "description"} <= set(out.columns) and _ingest_reasons(out["reason"]):
        # the ingest's reconciliation: reasons described in this language; the counts are untouched
        # (another account, e.g. survival's, describes its own reasons)
        out = quality.translate_reconciliation(out, lang)
    return out


def _ingest_reasons(reasons: pd.Series) -> bool:
    """Are these the ingest's reconciliation reasons (``quality.reason.*`` or a check id)?"""
    from analytics import quality
    from analytics.i18n import has_key

    return all(has_key(f"quality.reason.{r}") or r in quality.CHECK_BY_ID or has_key(f"quality.check.{r}")
               for r in reasons.dropna().astype(str).unique())


def column_config(table: pd.DataFrame, lang: str, overrides: dict[str, str] | None = None) -> dict:
    cfg = {}
    for c in table.columns:
        if HIDDEN_WITH.get(str(c)) in table.columns:
            cfg[str(c)] = None            # the id: its sentence is shown in the next column
            continue
        label = header(c, lang, overrides)
        if label is not None:
            cfg[str(c)] = st.column_config.Column(label)
    return cfg


def show(table, *, lang: str, key: str, site_name: Callable[[str], str] | None = None,
         headers: dict[str, str] | None = None, k: int | None = None, ds=None, **kw) -> None:
    """``st.dataframe`` of ``table`` (a frame or a pandas Styler) with words for codes and
    translated headers. ``k``: public output's threshold; withheld counts are shown as "<k".
    ``ds``: the data set the table comes from; given, the table is made ready once per process
    for the same table, language and ``k`` (``cache.view``: words put in, withheld counts
    written, converted to Arrow as ``st.dataframe`` would) instead of on every rerun.
    ``site_name`` must then depend on the language only (``Filters.site_name``)."""
    frame = table.data if hasattr(table, "data") and not isinstance(table, pd.DataFrame) else table
    if isinstance(table, pd.DataFrame):
        table = _ready(table, lang, site_name, ds, k)
    kw.setdefault("hide_index", True)
    kw.setdefault("width", "stretch")
    st.dataframe(table, key=key, column_config=column_config(frame, lang, headers), **kw)


def ready(table: pd.DataFrame, lang: str, site_name: Callable[[str], str] | None = None, k: int | None = None,
          *, arrow: bool = False) -> pd.DataFrame | pa.Table:
    """What :func:`show` draws of ``table``: :func:`localise`, withheld counts as "<k" when
    ``k`` is given, and with ``arrow`` the Arrow table ``st.dataframe`` makes of that frame (the
    same conversion, so the browser receives the same bytes)."""
    out = localise(table, lang, site_name)
    if k is not None:
        from analytics.disclosure import show_small

        out = show_small(out, k, as_text=True)
    return dataframe_util.convert_pandas_df_to_arrow_table(out) if arrow else out


def _ready(table: pd.DataFrame, lang: str, site_name: Callable[[str], str] | None, ds,
           k: int | None) -> pd.DataFrame | pa.Table:
    """:func:`ready`, shared by every session through ``cache.view`` when the data set is known
    (the frame's ``attrs`` — flag thresholds — are part of the key; attrs that cannot be keyed
    by value are made ready on every run)."""
    if ds is None:
        return ready(table, lang, site_name, k)
    from app_support import cache

    try:
        attrs = cache.key_part(dict(table.attrs))
    except TypeError:
        return ready(table, lang, site_name, k)
    return cache.view(ds, "table_ready", ready, table, lang, k=k, arrow=True,
                      identity=(attrs, site_name is not None), _site_name=site_name)
