"""Data quality: indicators by site, region or year with the usual targets, reconciliation,
flagged records (row, check, message; never identifiers)."""
import pandas as pd
import streamlit as st

from analytics import schema as S
from app_support import cache, filters, widgets
from app_support.fallback import module

f = filters.sidebar_filters()
ds = filters.dataset()
quality = module("quality")
qcharts = module("charts.quality")

# Indicative targets (Bray & Parkin 2009, Eur J Cancer 45:747; Parkin & Bray 2009, 45:756):
# a high share microscopically verified and few death-certificate-only cases.
TARGETS = {"mv": (">=", 80.0), "dco": ("<=", 10.0)}

st.title(f.t("app.page.quality"))
st.caption(f.t("app.overview.subtitle", source=ds.label, period=f.period_label(), site=f.site_name(f.site)))

by = filters.page_control("q_by", "site", ["site", "er", "district", "year"], lambda **kw: st.radio(
    f.t("app.quality.by"), horizontal=True, format_func=lambda v: f.t(f"app.quality.by_{v}"), **kw))
records = cache.selected_records(ds, ds.token, f.key(), f, False)
column = {"site": f.site_column, "er": S.PARENT, "district": S.REGION, "year": S.YEAR}[by]
if by == "er":
    parent = dict(zip(ds.regions[S.REGION], ds.regions[S.PARENT]))
    records = records.assign(**{S.PARENT: records[S.REGION].astype(str).map(parent)})


@st.cache_data(show_spinner=False, max_entries=64)
def _indicators(_records: pd.DataFrame, token: str, fkey: tuple, column: str) -> pd.DataFrame:
    return quality.indicators(_records[_records[S.INCLUDED].fillna(False).astype(bool)], by=(column,))


table = _indicators(records, ds.token, f.key(), column)
if by == "er":
    table.insert(1, S.PARENT_NAME, table[S.PARENT].map(dict(zip(ds.regions[S.PARENT], ds.regions[S.PARENT_NAME]))))
elif by == "district":
    table.insert(1, S.REGION_NAME, table[S.REGION].map(dict(zip(ds.regions[S.REGION], ds.regions[S.REGION_NAME]))))


def _col(kind: str) -> str | None:
    return next((c for c in table.columns if kind in c.lower() and "lower" not in c and "upper" not in c), None)


def _highlight(col: pd.Series) -> list[str]:
    kind = next((k for k in TARGETS if col.name == _col(k)), None)
    if kind is None:
        return [""] * len(col)
    op, target = TARGETS[kind]
    bad = col < target if op == ">=" else col > target
    return ["background-color: #F9D5C5" if b else "" for b in bad.fillna(False)]


for kind, key in (("mv", "app.quality.mv"), ("dco", "app.quality.dco")):
    col = _col(kind)
    if col is None:
        continue
    op, target = TARGETS[kind]
    title = f.t(key, target=widgets.fmt(target, f.lang, 0))
    label_col = {"site": column, "er": S.PARENT_NAME, "district": S.REGION_NAME, "year": S.YEAR}[by]
    if hasattr(qcharts, "indicator_bars"):
        fig = qcharts.indicator_bars(table.assign(**{label_col: table[label_col].astype(str)}), x=label_col, y=col,
                                     target=target, title=title, lang=f.lang, theme=f.theme)
    widgets.chart_with_table(fig, table[[c for c in table.columns if c in (column, label_col, col) or "case" in c or c == "n"]],
                             name=f"quality_{kind}_{by}", f=f, ds=ds, title=title)

st.subheader(f.t("app.quality.all"))
st.caption(f.t("app.quality.targets_note"))
st.dataframe(table.style.apply(_highlight), hide_index=True, key="quality_table", width="stretch")

left, right = st.columns(2)
with left:
    st.subheader(f.t("app.data.reconciliation"))
    st.dataframe(ds.registry.reconciliation, hide_index=True, key="quality_recon")
with right:
    flags = ds.registry.flags.drop(columns=[S.TUMOUR_ID], errors="ignore")
    st.subheader(f.t("app.data.flags", n=widgets.fmt(len(flags), f.lang, 0)))
    st.dataframe(flags.head(1000), hide_index=True, key="quality_flags")
