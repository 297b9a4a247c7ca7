"""Report: the annual report or fact sheets of the data shown, as PDF or Word. The document is
built in the background (``app_support.jobs``) with a progress bar, then downloaded."""
import streamlit as st

from analytics import schema as S
from analytics.i18n import LANGUAGE_NAMES
from analytics.mortality import MEASURES
from analytics.report import SECTIONS, ReportData, ReportOptions, build_factsheet, build_report
from analytics.report import data as report_data
from app_support import auth, cache, filters, jobs, state, widgets
from app_support.text import md

f = filters.sidebar_filters()
ds = filters.dataset()
auth.require(auth.DOWNLOAD)          # a document is a download: not for roles without downloads
ss = st.session_state
st.title(f.t("app.page.report"))
st.caption(f.t("report.page.intro", source=md(f.source(ds))))

opts = cache.filter_options(ds)
ymin, ymax = opts["years"]
kind = filters.page_control("rep_kind", "annual", ["annual", "factsheet"], lambda **kw: st.radio(
    f.t("report.page.kind"), horizontal=True, format_func=lambda v: f.t(f"report.page.kind_{v}"), **kw))
c1, c2, c3 = st.columns([2, 1, 1])
with c1:
    period = (ymin, ymax) if ymin == ymax else st.slider(
        f.t("report.page.period"), min_value=ymin, max_value=ymax, value=(f.y0, f.y1), step=1, key="rep_period")
with c2:
    lang = filters.page_control("rep_lang", f.lang, list(LANGUAGE_NAMES), lambda **kw: st.selectbox(
        f.t("report.page.language"), format_func=LANGUAGE_NAMES.get, **kw))
with c3:
    fmt = filters.page_control("rep_format", "pdf", ["pdf", "docx"], lambda **kw: st.radio(
        f.t("report.page.format"), format_func=lambda v: f.t(f"report.page.format_{v}"), **kw))

sites, regions, sex = [], [], None
if kind == "annual":
    sections = st.multiselect(f.t("report.page.sections"), list(SECTIONS), default=list(SECTIONS), key="rep_sections",
                              format_func=lambda s: f.t(f"report.section.{s}"))
else:
    site_options = [s for s in opts[f.scheme] if s not in (filters.ALL_SITES, filters.ALL_BUT_C44)]
    sites = st.multiselect(f.t("report.page.sites"), site_options, key="rep_sites", format_func=f.site_name,
                           default=[f.site] if f.site in site_options else [])
    names = {**(opts["er_names"] if f.lang == "az" else opts["er_names_en"]), **{d[0]: d[1] for d in opts["districts"]}}
    regions = st.multiselect(f.t("report.page.regions"), [c for c in opts["er"] if c != "all"] + [d[0] for d in opts["districts"]],
                             key="rep_regions", format_func=lambda c: names.get(c, c))
    sex = {"male": S.MALE, "female": S.FEMALE}.get(f.sex)
    sections = list(SECTIONS)
st.caption(f.t("report.page.public_on", k=filters.PUBLIC_K) if f.public else f.t("report.page.public_off"))

job = ss.get("_report_job")
running = job is not None and not job.done()
missing = (kind == "annual" and not sections) or (kind == "factsheet" and not sites and not regions)
if st.button(f.t("report.page.build"), type="primary", disabled=running or missing, key="rep_build"):
    options = ReportOptions(period=tuple(period), lang=lang, sections=tuple(sections), format=fmt, public=f.public,
                            scheme=f.scheme, standard=f.std, method=f.ci, conf=f.level, k=filters.PUBLIC_K)
    # the data set's shared cubes and deaths (read-only in the worker), its life table (as Survival);
    # public output: the pages' perturbed cubes and disclosure rule, so the document publishes the
    # same count for the same cell as the pages
    cubes = {m: cache.cube(ds, f.site_column, measure=m) for m in MEASURES}
    published = {m: cache.public_cube(ds, f.site_column, m) for m in MEASURES} if f.public else {}
    files = report_data.demo_files() if ds.is_demo else report_data.files_of(ds.registry, ds.label)
    rd = ReportData(ds.registry, ds.regions, f.source(ds), ds.geo, ds.risk_factors, files,
                    is_demo=ds.is_demo, lifetable=state.with_lifetable(ds).lifetable,
                    cube_for=lambda column, measure: cubes[measure],
                    public_cube_for=lambda column, measure: published[measure], rule=cache.disclosure_rule())
    rd.memo(("mortality_events", f.site_column), lambda: cache.mortality_events(ds, f.site_column))
    if ds.geo is not None:   # the maps' geometry, shared with the Maps page (cached per data set)
        for level in (S.REGION, S.PARENT):
            rd.memo(("geometry", level, lang), lambda level=level: cache.level_geometry(ds, level, lang))
    if kind == "annual":
        job = jobs.submit(cache.worker_pool(), kind, build_report, rd, options)
    else:
        job = jobs.submit(cache.worker_pool(), kind, build_factsheet, rd, options, sites=sites, regions=regions,
                          sex=sex)
    ss["_report_job"] = job
    running = True
elif missing:
    st.caption(f.t("report.page.choose"))


@st.fragment(run_every=0.5)
def progress() -> None:
    """Polls the build while it runs; once it is done the whole page reruns to offer the file."""
    current = ss.get("_report_job")
    if current is None:
        return
    if not current.done():
        st.progress(current.fraction, text=f.t("report.page.building", message=current.message,
                                               seconds=f"{current.elapsed:.0f}"))
        return
    st.rerun(scope="app")


if running:
    progress()
elif job is not None:
    err = job.error()
    if err is not None:
        st.error(f.t("report.page.failed", reason=str(err)))
    else:
        built = job.result()
        stem = "report" if job.label == "annual" else "factsheet"
        name = f"{stem}_{built.document.lang}_{period[0]}-{period[1]}.{built.format}"
        st.success(f.t("report.page.ready", seconds=f"{job.elapsed:.0f}"))
        widgets.download_button(f.t("report.page.download", format=built.format.upper()), data=built.content,
                                file_name=name, mime=built.mime, key="rep_download", on_click="ignore",
                                what=f"{job.label} report", f=f, ds=ds)
