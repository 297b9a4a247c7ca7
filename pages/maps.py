"""Regional maps: SIR (raw, smoothed, probability of excess), ASR, significance; funnel plot;
LISA clusters; region profile. The whole country is always mapped; the sidebar's district (or
economic region) choice highlights a region and selects its profile."""
import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from analytics import narrative
from analytics import schema as S
from analytics import tables as shared
from analytics.charts import maps as mc
from analytics.charts import mortality as mcharts
from analytics.ingest import sandbox, upload
from analytics.labels import risk_factor_label
from analytics.presets import fmt_p
from app_support import audit, auth, cache, filters, progress, state, widgets
from app_support.text import md, region_names

f = filters.sidebar_filters()
ds = filters.dataset()
head = st.container()   # the title names the measure chosen below it
f = filters.measure_switch(f)
head.title(f.tm("maps.page_title"))

if ds.geo is None:
    st.info(f.t("maps.no_regions"))
    st.stop()

MEASURES = ["smoothed", "sir", "smoothed_local", "prob_gt_1", "significance", "asr", "crude_rate", "cases"]
MEASURES += ["mi_ratio"] if f.mortality else []   # the mortality:incidence ratio by region
SCHEMES = ["ratio", "quantiles", "fisher_jenks", "equal_interval", "user_defined", "significance"]
DEFAULT_SCHEME = {"smoothed": "ratio", "sir": "ratio", "smoothed_local": "ratio", "significance": "significance"}
PUBLIC_K = filters.PUBLIC_K
PROFILE_LABELS = {"smoothed": "maps.m_smoothed", "sir": "maps.m_sir", "asr": "maps.m_asr", "crude_rate": "maps.m_crude"}


# Map the whole country whatever region is selected; the selection is highlighted instead.
fc = dataclasses.replace(f, er="all", district="all")
level = filters.page_control("map_level", S.REGION, [S.REGION, S.PARENT], lambda **kw: st.radio(
    f.t("maps.level"), horizontal=True,
    format_func=lambda v: f.t("maps.level_district") if v == S.REGION else f.t("maps.level_economic"), **kw))
geo, w, gj = cache.level_geometry(ds, level, f.lang)
REFS = ["national", "economic", "user"] if level == S.REGION else ["national", "user"]
if not auth.can(auth.UPLOAD):   # a table of one's own is an upload: the registrar's (app_support/auth.py)
    REFS.remove("user")
ref = filters.page_control("map_ref", "national", REFS, lambda **kw: st.radio(
    f.t("maps.reference"), horizontal=True, format_func=lambda v: f.t(f"maps.ref_{v}"), **kw))
ref_table, ref_token = None, ""
if ref == "user":
    with st.expander(f.t("maps.ref_upload_title"), expanded="map_ref_table" not in st.session_state):
        st.caption(f.t("maps.ref_upload_help"))
        widgets.translate_uploaders(f.lang)
        up = st.file_uploader(f.t("maps.ref_upload"), type=["csv", "txt"], key="p_map_ref_file")
        if up is not None and st.session_state.get("_map_ref_digest") != state.file_digest(up.getvalue()):
            # parsed in the ingest worker (limits, memory cap); the file joins the dataset token
            outcome = sandbox.run(upload.reference_rates, up.getvalue(), up.name, label=up.name)
            audit.log_page_upload("sir_reference", up.name, up.getvalue(), outcome.error is None)
            if outcome.error is not None:
                st.error(md(str(outcome.error)))
            else:
                st.session_state["_map_ref_digest"] = state.file_digest(up.getvalue())
                st.session_state["map_ref_table"] = (outcome.value, up.name)
                if state.page_upload("sir_reference", up.name, up.getvalue()):
                    st.rerun()
    if "map_ref_table" in st.session_state:
        ref_table, ref_name = st.session_state["map_ref_table"]
        ref_token = pd.util.hash_pandas_object(ref_table, index=False).sum().astype(str) + ref_name
    else:
        st.info(f.t("maps.ref_user_missing"))
        ref = "national"
try:
    m_all = cache.regional_measures(ds, fc, level, ref, ref_token, _ref_table=ref_table)   # statistics use every count
except ValueError as e:   # a user table missing an age group of the data
    st.error(md(str(e)))
    ref = "national"
    m_all = cache.regional_measures(ds, fc, level)
ref_label = (f.t("maps.reference_national") if ref == "national" else f.t("maps.reference_economic")
             if ref == "economic" else f.t("maps.reference_user", name=md(st.session_state["map_ref_table"][1])))
K_SHOWN = PUBLIC_K if f.public else 0
# public output: counts are already perturbed (cell-key method), so a region's count cannot be worked
# out from the published total; counts below k are withheld with the statistics derived from them
def named_measures(m_all: pd.DataFrame, *, level: str, k: int | None, lang: str, geo):
    """The measures as published (as the report prints them), the regions' names in ``lang`` and
    the regions named: built once per process for the same measures, level and language
    (``cache.view``; shared by every session: never modified)."""
    m = shared.published_measures(m_all, level=level, k=k, lang=lang)
    names = geo.set_index(level)[S.REGION_NAME]
    names = pd.Series(region_names(names.index.to_series(), lang, level=level, fallback=names).to_numpy(),
                      index=names.index)
    return (m.assign(**{S.REGION_NAME: m[level].map(names).fillna(m[level])}), names,
            geo.assign(**{S.REGION_NAME: geo[level].map(names)}))


m, names, geo = cache.view(ds, "maps_named_measures", named_measures, m_all, level=level, k=K_SHOWN or None,
                           lang=f.lang, _geo=geo, identity=level)   # geo: the data set's regions at this level
if m.empty or not m["expected"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
if f.mortality:   # M:I of each region (analytics.mortality.mi_ratio), public output applied
    mi = cache.mi_ratio(ds, fc, (level,))
    m = m.merge(mi[[level, "mi_ratio"]].astype({level: str}), on=level, how="left")
frame = m.rename(columns={level: S.REGION}) if level != S.REGION else m
geo_map = geo.rename(columns={level: S.REGION}) if level != S.REGION else geo
selected = f.district if level == S.REGION and f.district != "all" else (f.er if level == S.PARENT and f.er != "all" else None)
sidebar_selected = selected
# The profile's region is outlined on the map too (widget state first: it is newer than the URL).
if (st.session_state.get("p_map_panel") or st.query_params.get("map_panel")) == "profile":
    selected = st.session_state.get("p_map_region") or st.query_params.get("map_region") or selected

c1, c2, c3 = st.columns([2, 2, 1])
with c1:
    measure = filters.page_control("map_measure", "smoothed", MEASURES, lambda **kw: st.selectbox(
        f.t("maps.measure"), format_func=lambda v: f.tm(f"maps.m_{'prob' if v == 'prob_gt_1' else 'crude' if v == 'crude_rate' else v}"), **kw))
with c2:
    scheme = filters.page_control("map_scheme", DEFAULT_SCHEME.get(measure, "quantiles"), SCHEMES,
                                  lambda **kw: st.selectbox(f.t("maps.scheme"), format_func=lambda v: f.t(f"maps.s_{v}"), **kw))
with c3:
    k = int(filters.page_control("map_k", "5", ["3", "4", "5", "6", "7"],
                                 lambda **kw: st.selectbox(f.t("maps.n_classes"), **kw)))
if measure == "significance":
    scheme = "significance"
bins = None
if scheme == "user_defined":
    text = st.text_input(f.t("maps.breaks"), value=st.query_params.get("map_breaks", "0.8, 1, 1.25"), key="p_map_breaks")
    st.query_params["map_breaks"] = text
    try:
        bins = sorted(float(x) for x in text.replace(";", ",").split(",") if x.strip())
        if not bins:
            raise ValueError
    except ValueError:
        st.error(f.t("maps.breaks_bad", text=md(text)))
        scheme, bins = "quantiles", None

value = "sir" if measure == "significance" else measure
label = f.tm(f"maps.m_{'prob' if measure == 'prob_gt_1' else 'crude' if measure == 'crude_rate' else measure}")
# The whole country is mapped; a region chosen in the sidebar is outlined (said in the caption).
ref_name = ref if ref != "user" else st.session_state["map_ref_table"][1]
d_map = widgets.describe(f, ds, m[[level]], measure, area=None, highlight=selected, reference=ref_name)
title = f.tm("maps.map_title", measure=label, site=f.site_name(f.site), period=d_map.context(f.lang))
n_high, n_low = int((m["significance"] == "higher").sum()), int((m["significance"] == "lower").sum())
reading = f.tm("maps.reading_sir", n_high=n_high, n_low=n_low)
if measure == "mi_ratio":
    reading = mcharts.mi_site_sentence(m.drop(columns=["cases"]).merge(mi[[level, "deaths", "cases"]].astype({level: str}), on=level),
                                       label=level, names=names.to_dict(), lang=f.lang)
st.caption(widgets.page_caption(f, ds, measure=measure, reference=ref_name))
# built once per process for every session on the same view (cache.figure): the regions and
# their GeoJSON go in unhashed, identified by the data set, level and language
fig = cache.figure(ds, "maps_main", mc.choropleth, _regions=geo_map, frame=frame, value=value, scheme=scheme, k=k,
                   bins=bins, lang=f.lang, theme=f.theme, title=title, highlight=selected,
                   decimals=0 if measure == "cases" else 2, _geojson=gj, identity=(level, f.lang),
                   desc=d_map, caption=d_map.caption(f.lang))
table_cols = [S.REGION_NAME, level, "cases", "person_years", "crude_rate", "asr", "asr_lower", "asr_upper", "expected",
              "sir", "sir_lower", "sir_upper", "smoothed", "smoothed_local", "prob_gt_1", "significance", "flag", "reason"]
table_cols += ["suppression"] if "suppression" in m.columns else []
table_cols += ["mi_ratio"] if f.mortality else []
smr = {c: f.t(f"mortality.col.{c.replace('sir', 'smr')}") for c in ("cases", "sir", "sir_lower", "sir_upper")} \
    if f.mortality else None   # the table says deaths and SMR
widgets.chart_with_table(fig, m[table_cols], name="maps_main", f=f, ds=ds, title=title, reading=reading, headers=smr,
                         desc=d_map)

# the permutation tests run in a worker process (a progress bar while this session waits)
moran_res, lisa = cache.clusters(ds, fc, level, ref, ref_token, _ref_table=ref_table,
                                 wait=progress.waiting(lambda pct: f.t("jobs.clusters", percent=pct)))
links = ", ".join(f"{names.get(a, a)} – {names.get(b, b)}" for a, b in getattr(w, "added_links", []))
note = f.t("maps.islands_note") + (" " + f.t("maps.islands_linked", links=links) if links else "")
if w.n_components > 1:
    note += " " + f.t("maps.components_note", n=w.n_components)
st.caption(f.t("maps.moran_line", i=widgets.fmt(moran_res.I, f.lang, 3), p=fmt_p(moran_res.p_value, f.lang),
               n=moran_res.permutations) + " " + md(note))

# One analysis panel at a time keeps a re-render within budget (each map figure costs ~0.1 s).
# The panel is a fragment: its controls (panel, overdispersion, region) redraw it alone.
@st.fragment
def panel_section():
    """Funnel plot, LISA clusters or region profile (st.fragment)."""
    panel = filters.page_control("map_panel", "funnel", ["funnel", "lisa", "profile"], lambda **kw: st.radio(
        f.t("maps.panel"), horizontal=True, format_func=lambda v: f.t(f"maps.{v}_section"), **kw))
    widgets.rerun_app_if(panel != "profile" and selected != sidebar_selected)   # the map's outline changes
    if panel == "funnel":
        st.subheader(f.t("maps.funnel_section") if ref == "national" else f.t("maps.funnel_section_ref"))
        od = filters.page_toggle("map_od", f.t("maps.overdispersion"))
        d_funnel = widgets.as_measure(d_map, f, "funnel").replace(highlight=None)
        ftitle = f"{f.tm('maps.funnel_title')}: {d_funnel.context(f.lang, site=True)}"
        widgets.chart_with_table(cache.figure(ds, "maps_funnel", mc.funnel_plot, frame, overdispersion=od, lang=f.lang,
                                              theme=f.theme, title=ftitle, desc=d_funnel,
                                              caption=d_funnel.caption(f.lang)),
                                 m[[S.REGION_NAME, level, "cases", "expected", "sir", "sir_lower", "sir_upper", "significance", "flag"]],
                                 name="maps_funnel", f=f, ds=ds, title=ftitle, headers=smr, desc=d_funnel,
                                 reading=cache.view(ds, "maps_funnel_sentence", narrative.funnel_sentence, frame,
                                                    overdispersion=od, lang=f.lang))

    elif panel == "lisa":
        st.subheader(f.t("maps.lisa_section"))
        d_lisa = widgets.as_measure(d_map, f, "lisa")
        ltitle = f"{f.t('maps.lisa_title')}: {d_lisa.context(f.lang, site=True)}"
        lisa_tab = lisa.reset_index().rename(columns={S.REGION: level}) if level != S.REGION else lisa.reset_index()
        lisa_tab[S.REGION_NAME] = lisa_tab[level].map(names)
        lisa_frame = lisa_tab.rename(columns={level: S.REGION}) if level != S.REGION else lisa_tab
        widgets.chart_with_table(cache.figure(ds, "maps_lisa", mc.lisa_map, _regions=geo_map, lisa=lisa_frame,
                                              lang=f.lang, theme=f.theme, title=ltitle, _geojson=gj,
                                              identity=(level, f.lang), desc=d_lisa,
                                              caption=d_lisa.caption(f.lang)),
                                 lisa_tab[[S.REGION_NAME, level, "Ii", "quadrant", "p_value", "cluster"]],
                                 name="maps_lisa", f=f, ds=ds, title=ltitle, reading=f.t("maps.lisa_caption"), desc=d_lisa)

    else:
        st.subheader(f.t("maps.profile_section"))
        codes = list(m[level])
        region = filters.page_control("map_region", selected if selected in codes else codes[0], codes,
                                      lambda **kw: st.selectbox(f.t("maps.region"), format_func=lambda c: names.get(c, c), **kw))
        widgets.rerun_app_if(region != selected)    # the map above outlines the profile's region
        national = cache.dsr(ds, fc)
        nat_asr = float(national["value"].iloc[0]) if len(national) else np.nan
        nat_crude = float(national["crude_rate"].iloc[0]) if len(national) else np.nan
        rf = cache.wide_risk_factors(ds, level) if ds.risk_factors is not None and len(ds.risk_factors) else None
        profile = shared.region_profile(m, region, level=level, national_asr=nat_asr, national_crude=nat_crude,
                                        risk_factors=rf, labels={c: f.tm(k) for c, k in PROFILE_LABELS.items()},
                                        risk_factor_name=lambda c: risk_factor_label(c, f.lang))
        d_prof = widgets.describe(f, ds, None, "profile", area=(level, region), reference=ref_name)
        ptitle = f"{f.t('maps.profile_title')}: {d_prof.context(f.lang, site=True)}"
        widgets.chart_with_table(mc.spine_chart(profile, lang=f.lang, theme=f.theme, title=ptitle), profile,
                                 name="maps_profile", f=f, ds=ds, title=ptitle, desc=d_prof,
                                 reading=narrative.profile_sentence(profile, region=names.get(region, region), lang=f.lang))


panel_section()
