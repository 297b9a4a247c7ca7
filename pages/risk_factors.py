"""Risk factors beside cancer: two linked maps, a bivariate map, SIR against the risk factor and
an ecological regression (negative binomial when the Poisson fit is overdispersed, with the test
that decided shown) with its caution. District or economic-region
level (risk factors aggregated as population-weighted means of the districts)."""
import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from analytics import narrative
from analytics import schema as S
from analytics import spatial
from analytics.charts import maps as mc
from analytics.ecological import FAMILIES, choice_sentence, export_table
from analytics.labels import risk_factor_label, risk_factor_name, risk_factor_unit
from analytics.presets import fmt_p
from app_support import cache, filters, widgets
from app_support.text import region_names

f = filters.sidebar_filters()
ds = filters.dataset()
st.title(f.t("maps.rf_title"))

rf = ds.risk_factors
if ds.geo is None:
    st.info(f.t("maps.no_regions"))
    st.stop()
if rf is None or rf.empty:
    st.info(f.t("maps.rf_none"))
    st.stop()


fc = dataclasses.replace(f, er="all", district="all")
level = filters.page_control("rf_level", S.REGION, [S.REGION, S.PARENT], lambda **kw: st.radio(
    f.t("maps.level"), horizontal=True,
    format_func=lambda v: f.t("maps.level_district") if v == S.REGION else f.t("maps.level_economic"), **kw))
if level == S.PARENT and (ds.regions is None or S.PARENT not in ds.regions.columns):
    level = S.REGION
geo, w, gj = cache.level_geometry(ds, level, f.lang)
geo = geo.rename(columns={level: S.REGION})
m = cache.regional_measures(ds, fc, level).rename(columns={level: S.REGION})
if m.empty or not m["expected"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
wide = cache.wide_risk_factors(ds, level)
if level == S.PARENT:
    st.caption(f.t("maps.rf_aggregated"))
factors = list(wide.columns)
units = rf.drop_duplicates(S.INDICATOR).set_index(S.INDICATOR)[S.UNIT].astype(str).to_dict() if S.UNIT in rf.columns else {}
names = geo.set_index(S.REGION)[S.REGION_NAME]
names = pd.Series(region_names(names.index.to_series(), f.lang, level=level, fallback=names).to_numpy(), index=names.index)
geo = geo.assign(**{S.REGION_NAME: geo[S.REGION].map(names)})
model_data = m.merge(wide, left_on=S.REGION, right_index=True, how="left")   # the regression uses every count
data = spatial.blank_suppressed(model_data) if f.public else model_data.copy()   # counts perturbed in public output
data = mc.localise_reasons(data, f.lang, k=filters.PUBLIC_K if f.public else 0,
                           unreliable=max(10, filters.PUBLIC_K if f.public else 0))
data[S.REGION_NAME] = data[S.REGION].map(names)
st.caption(f.t("maps.rf_caption", site=f.site_name(f.site), period=f.period_label()))
st.caption(widgets.page_caption(f, ds, measure="smoothed", reference="national"))
rf_years = sorted(int(y) for y in rf[S.YEAR].dropna().unique()) if S.YEAR in rf.columns else []
rf_note = f.t("describe.rf_year", year="–".join(map(str, sorted({rf_years[0], rf_years[-1]})))) if rf_years \
    else f.t("describe.rf_year_none")
by_level = data[[S.REGION]].rename(columns={S.REGION: level})   # what the maps draw: every region of the level


def clicked_region(event) -> str | None:
    """Region code of the last point clicked on a map (plotly selection event), or None."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points[::-1]:
        loc = p.get("location")
        if loc is not None:
            return str(loc)
    return None


def flabel(x: str) -> str:
    """The indicator's name and unit in the page's language (catalogue riskfactors.json; an
    upload's own indicator keeps its code and unit)."""
    return risk_factor_label(x, f.lang, fallback_unit=units.get(x))


def fname(x: str) -> str:
    return risk_factor_name(x, f.lang)


factor = filters.page_control("rf_factor", factors[0], factors, lambda **kw: st.selectbox(
    f.t("maps.rf_factor"), format_func=flabel, **kw))
codes = ["none"] + list(names.index)
default_sel = (f.district if level == S.REGION else f.er) if (f.district if level == S.REGION else f.er) in codes else "none"
# Linked selection: a click on either map selects that region on both. The click reaches this run
# as the chart's widget state; it is applied to the selectbox (the keyboard route) before that is
# drawn, once per new click, so a later choice in the selectbox is not overridden by an old click.
for chart in ("chart_rf_map_factor", "chart_rf_map_sir"):
    clicked = clicked_region(st.session_state.get(chart))
    seen = st.session_state.get(f"_seen_{chart}")
    if clicked != seen:
        st.session_state[f"_seen_{chart}"] = clicked
        if clicked in codes:
            st.session_state["p_rf_region"] = clicked
            filters._page_store()["rf_region"] = clicked
sel = filters.page_control("rf_region", default_sel, codes, lambda **kw: st.selectbox(
    f.t("maps.rf_highlight"), format_func=lambda c: f.t("maps.rf_none_selected") if c == "none" else names.get(c, c), **kw))
highlight = None if sel == "none" else sel

st.subheader(f.t("maps.rf_side_by_side"))
st.caption(f.t("maps.rf_click_hint"))
left, right = st.columns(2)
with left:
    u = risk_factor_unit(factor, f.lang, units.get(factor))
    title = f"{fname(factor)}<br><sup>{u}</sup>" if u else fname(factor)   # narrow column: two lines
    d_factor = widgets.describe(f, ds, by_level, "risk_factor", area=None, highlight=highlight, label=flabel(factor),
                                notes=(rf_note,))
    # figures built once per process for every session on the same view (cache.figure); the regions
    # and their GeoJSON go in unhashed, identified by the level and the language of their names
    # the factor alone (the names come from the regions): the map and its hover show the factor,
    # not the selection's cancer counts, so a change of sex, site or period leaves the figure as it was
    fig = cache.figure(ds, "rf_map_factor", mc.choropleth, _regions=geo,
                       frame=data[[S.REGION, factor]].assign(flag=""), value=factor,
                       scheme="quantiles", k=5, lang=f.lang, theme=f.theme, title=title, highlight=highlight,
                       height=440, _geojson=gj, identity=(level, f.lang),
                       desc=d_factor, caption=d_factor.caption(f.lang))
    # the factor is not a count: no region's value is withheld, whatever its cases' flag
    widgets.chart_with_table(fig, data[[S.REGION_NAME, S.REGION, factor]], name="rf_map_factor", f=f, ds=ds, title=title,
                             select=True, desc=d_factor,
                             reading=narrative.range_sentence(data.assign(flag=""), factor, label=fname(factor),
                                                              unit=u, lang=f.lang))
with right:
    d_sir = widgets.describe(f, ds, by_level, "smoothed", area=None, highlight=highlight, reference="national")
    title = f"{f.t('maps.m_smoothed')}<br><sup>{d_sir.context(f.lang, site=True)}</sup>"
    fig = cache.figure(ds, "rf_map_sir", mc.choropleth, _regions=geo, frame=data, value="smoothed", scheme="ratio",
                       lang=f.lang, theme=f.theme, title=title, highlight=highlight, height=440, _geojson=gj,
                       identity=(level, f.lang), desc=d_sir,
                       caption=d_sir.caption(f.lang))
    widgets.chart_with_table(fig, data[[S.REGION_NAME, S.REGION, "cases", "expected", "sir", "smoothed", "prob_gt_1", "flag"]],
                             name="rf_map_sir", f=f, ds=ds, title=title, select=True, desc=d_sir,
                             reading=narrative.sir_map_sentence(data, lang=f.lang))

st.subheader(f.t("maps.rf_bivariate"))
bdata = data.assign(smoothed=np.where(data["flag"] == "suppressed", np.nan, data["smoothed"]))
sir_word = f.t("describe.sir_short")
title = f"{f.t('maps.bivariate_title', x=fname(factor), y=sir_word)}: {d_sir.context(f.lang, site=True)}"
d_biv = d_sir.replace(label=f.t("maps.bivariate_title", x=flabel(factor), y=f.t("maps.m_smoothed")), notes=(rf_note,))
fig = cache.figure(ds, "rf_bivariate", mc.bivariate_choropleth, _regions=geo, frame=bdata, x=factor, y="smoothed",
                   x_label=fname(factor), y_label=sir_word, lang=f.lang, theme=f.theme, title=title, _geojson=gj,
                   identity=(level, f.lang), desc=d_biv, caption=d_biv.caption(f.lang))
widgets.chart_with_table(fig, bdata[[S.REGION_NAME, S.REGION, factor, "smoothed"]], name="rf_bivariate", f=f, ds=ds,
                         title=title, desc=d_biv,
                         reading=narrative.bivariate_sentence(fig.layout.meta["bivariate_counts"], x_label=fname(factor),
                                                              y_label=sir_word, lang=f.lang))

st.subheader(f.t("maps.rf_scatter"))
sdata = data[data["flag"] != "suppressed"]
title = f"{f.t('maps.scatter_title', x=flabel(factor))}: {d_sir.context(f.lang, site=True)}"
d_scatter = d_sir.replace(measure="sir", highlight=None, notes=(rf_note,))
# the fit the scatter draws (sir_scatter keeps it inside the figure): same rows, same model
sfit_rows = sdata[np.isfinite(pd.to_numeric(sdata[factor], errors="coerce")) & np.isfinite(sdata["sir"].astype(float))
                  & (sdata["expected"] > 0)]
sreading, sfit = "", None
if len(sfit_rows) >= 3:   # sir_scatter draws no fit below three regions
    try:
        # fitted once per process for the same rows (cache.ecological_fit)
        sfit = cache.ecological_fit(ds, sfit_rows.rename(columns={"cases": "_o", "expected": "_e"}), (factor,), None,
                                    observed="_o", expected="_e")
        sreading = narrative.regression_sentence(sfit.table, factor, x_label=fname(factor), lang=f.lang)
    except (ValueError, np.linalg.LinAlgError):   # a degenerate fit: the slide goes without a reading
        sreading, sfit = "", None
# the scatter draws that fit (_fit: not part of the view's key, which holds the rows and the factor it derives from)
widgets.chart_with_table(cache.figure(ds, "rf_scatter", mc.sir_scatter, sdata, factor, x_label=flabel(factor),
                                      _fit=sfit, lang=f.lang, theme=f.theme, title=title, desc=d_scatter,
                                      caption=d_scatter.caption(f.lang)),
                         sdata[[S.REGION_NAME, S.REGION, factor, "cases", "expected", "sir"]],
                         name="rf_scatter", f=f, ds=ds, title=title, reading=sreading, desc=d_scatter)

st.subheader(f.t("maps.rf_regression"))
c1, c2, c3 = st.columns([3, 1, 1])
with c1:
    stored = [x for x in st.query_params.get("rf_set", factor).split(",") if x in factors] or [factor]
    chosen = st.multiselect(f.t("maps.rf_factors"), factors, default=stored, format_func=flabel, key="p_rf_set")
    st.query_params["rf_set"] = ",".join(chosen)
with c2:
    # default "auto": negative binomial when the Poisson fit is overdispersed (analytics.ecological)
    family = filters.page_control("rf_family", "auto", list(FAMILIES), lambda **kw: st.radio(
        f.t("maps.rf_family"), format_func=lambda v: f.t(f"models.family.{v}"), **kw))
with c3:
    per = filters.page_control("rf_per", "sd", ["sd", "unit"], lambda **kw: st.radio(
        f.t("maps.rf_per"), format_func=lambda v: f.t(f"maps.rf_per_{v}"), **kw))

st.warning(f.t("maps.rf_caution"))
if chosen:
    # a model's coefficients are not counts: they are published without suppression (methods sheet 8)
    rdata = model_data.set_index(S.REGION).rename(columns={"cases": "observed"})
    rdata = rdata[rdata["expected"] > 0]
    try:
        fit = cache.ecological_fit(ds, rdata, tuple(chosen), level, family=family, per=per, conf=f.level, _w=w,
                                   permutations=499)
    except ValueError:
        fit = None
        st.info(f.t("maps.rf_too_few"))
    if fit is not None:
        d_reg = d_sir.replace(measure="regression", highlight=None, conf=f.level,
                              label=f"{f.t('describe.measure.regression')}: {', '.join(fname(x) for x in chosen)}",
                              notes=(rf_note,))
        title = f"{f.t('maps.coef_title')}: {d_reg.context(f.lang, site=True)}"
        rm = fit.residual_moran
        moran_txt = (f"I = {widgets.fmt(rm.I, f.lang, 3)}, {fmt_p(rm.p_value, f.lang)}" if rm else "–")
        choice = choice_sentence(fit.choice, f.lang)
        st.info(choice)                      # which model, and the test that decided
        # a fit that did not converge: said on the page in words (the fitting messages, in
        # English, go to the log and the download's ``warnings`` column)
        not_converged = "" if fit.converged else f.t(
            "describe.fit_not_converged", model=f.t(f"models.family.{fit.choice.family}"))
        if not_converged:
            st.warning(not_converged)
            d_reg = d_reg.replace(notes=d_reg.notes + (not_converged,))
        reading = " ".join([choice, f.t("models.diagnostics", disp=widgets.fmt(fit.dispersion, f.lang, 2),
                                        moran=moran_txt)])
        # built once per process for the same coefficients (cache.figure); the terms named in the page's language
        coef_fig = cache.figure(ds, "rf_regression", mc.coefficient_plot, fit.table, lang=f.lang, theme=f.theme,
                                title=title, _term_label=fname, identity=("factor_names", f.lang), desc=d_reg,
                                caption=d_reg.caption(f.lang))
        widgets.chart_with_table(coef_fig,
                                 export_table(fit, f.lang), name="rf_regression", f=f, ds=ds, title=title,
                                 reading=reading, desc=d_reg)
