"""Data quality: indicators by site, region or year with the usual targets, reconciliation,
flagged records (row, check, message; never identifiers)."""
import pandas as pd
import streamlit as st

from analytics import narrative
from analytics import tables as shared
from analytics import schema as S
from app_support import auth, cache, filters, tables, widgets
from app_support.text import region_names
from analytics.charts import quality as qcharts
from app_support.text import md

f = filters.sidebar_filters()
ds = filters.dataset()

# The usual targets (analytics.quality.targets: Bray & Parkin 2009, Eur J Cancer 45:747, 756).
TARGETS = shared.quality_targets()

st.title(f.t("app.page.quality"))
st.caption(widgets.page_caption(f, ds, measure="quality"))

by = filters.page_control("q_by", "site", ["site", "er", "district", "year"], lambda **kw: st.radio(
    f.t("app.quality.by"), horizontal=True, format_func=lambda v: f.t(f"app.quality.by_{v}"), **kw))
column = {"site": f.site_column, "er": S.PARENT, "district": S.REGION, "year": S.YEAR}[by]


long = cache.quality_indicators(ds, f, column)
names = {"er": dict(zip(ds.regions[S.PARENT], ds.regions[f.er_name_column])),
         "district": dict(zip(ds.regions[S.REGION], ds.regions[S.REGION_NAME]))}
label = long[column].astype(str)
if by in names:
    label = region_names(label, f.lang, level=column, fallback=names[by])
elif by == "site":
    label = label.map(f.site_name)
long = long.assign(name=label)

for ind, key in (("mv_pct", "app.quality.mv"), ("dco_pct", "app.quality.dco")):
    part = long[long["indicator"] == ind].sort_values("value", ascending=ind != "mv_pct")
    if part.empty:
        continue
    direction, good, acceptable = TARGETS[ind]
    d_ind = widgets.describe(f, ds, part, "quality", label=f.t(f"charts.indicator_{ind}"))
    title = f"{f.t(key, target=widgets.fmt(good, f.lang, 0))}: {d_ind.context(f.lang, site=True)}"
    fig = cache.figure(ds, f"quality_{ind}", qcharts.indicator_bars, part, x="name", y="value", indicator=ind,
                       lang=f.lang, theme=f.theme, title=title, desc=d_ind, caption=d_ind.caption(f.lang))
    widgets.chart_with_table(fig, part[[column, "name", "count", "total", "value"]],
                             name=f"quality_{ind}_{by}", f=f, ds=ds, title=title, desc=d_ind,
                             headers={"value": f.t(f"charts.indicator_{ind}"), "name": f.t(f"app.quality.by_{by}")},
                             reading=narrative.quality_sentence(part, ind, target=good, direction=direction,
                                                                lang=f.lang))

st.subheader(f.t("app.quality.all"))
wide = shared.quality_wide(long, column)


def _highlight(col: pd.Series) -> list[str]:
    """Red beyond the acceptable limit, amber between it and the target."""
    if col.name not in TARGETS:
        return [""] * len(col)
    status = qcharts.target_status(col.to_numpy(float), TARGETS[col.name][1], TARGETS[col.name][2],
                                   TARGETS[col.name][0])
    colours = {"poor": "background-color: #F4B6A6", "acceptable": "background-color: #FBE3B0"}
    return [colours.get(s, "") for s in status]


d_all = widgets.describe(f, ds, wide, "quality")
st.caption(md(d_all.caption(f.lang)))
# by site, the name column says the site in words; its English label stays in the downloads
shown_wide = wide.drop(columns=[column]) if by == "site" else wide
tables.show(shown_wide.style.apply(_highlight).format(precision=1), lang=f.lang, key="quality_table",
            headers={"name": f.t(f"app.quality.by_{by}")})
st.caption(f.t("app.quality.targets_note"))
c1, c2 = st.columns(2)
meta = widgets.meta_of(f"{f.t('app.quality.all')}: {d_all.context(f.lang, site=True)}", d_all, f, ds)
widgets.download_button(f.t("app.dl.csv"), data=lambda: widgets.table_csv(wide, meta), file_name="quality_indicators.csv",
                        mime="text/csv", key="dl_quality_csv", on_click="ignore", container=c1,
                        what=meta["title"], f=f, ds=ds)
widgets.download_button(f.t("app.dl.excel"), data=lambda: widgets.table_excel(wide, meta, f.lang),
                        file_name="quality_indicators.xlsx", key="dl_quality_xlsx", on_click="ignore", container=c2,
                        what=meta["title"], f=f, ds=ds)

if f.public:   # record-level lists and exact record counts are not public output
    st.info(f.t("disclosure.records_hidden"))
    st.stop()
left, right = st.columns(2)
st.caption(f.t("describe.whole_dataset", source=md(f.source(ds))))
with left:
    st.subheader(f.t("app.data.reconciliation"))
    tables.show(ds.registry.reconciliation, lang=f.lang, key="quality_recon")
with right:
    if auth.can(auth.VIEW_RECORDS):      # the record-level list: registrar only (app_support/auth.py)
        reg = ds.registry
        flags = (reg.report() if hasattr(reg, "report") else reg.flags).drop(columns=[S.TUMOUR_ID], errors="ignore")
        st.subheader(f.t("app.data.flags", n=widgets.fmt(len(flags), f.lang, 0)))
        tables.show(flags.head(1000), lang=f.lang, key="quality_flags")
