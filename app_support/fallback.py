"""Temporary stand-ins used only while the real ``analytics`` modules are not importable.

Each function mirrors the interface the owning engineer publishes (docs/module map) and is
replaced as soon as the real module lands; nothing here is a method of record.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from analytics import schema as S

_SITES = {  # label -> (ICD-10, male rate, female rate per 100,000 at age 65-69)
    "Lung (incl. trachea and bronchus)": ("C34", 250.0, 30.0),
    "Breast": ("C50", 1.0, 160.0),
    "Stomach": ("C16", 90.0, 40.0),
    "Colon": ("C18", 60.0, 45.0),
    "Prostate": ("C61", 120.0, 0.0),
    "Liver": ("C22", 45.0, 20.0),
    "Cervix uteri": ("C53", 0.0, 30.0),
    "Bladder": ("C67", 50.0, 10.0),
    "Oesophagus": ("C15", 35.0, 25.0),
    "Thyroid": ("C73", 5.0, 20.0),
}


@dataclasses.dataclass
class RegistryData:
    records: pd.DataFrame
    flags: pd.DataFrame
    reconciliation: pd.DataFrame
    n_read: int
    n_used: int
    n_excluded: int
    dropped_columns: list
    source: str
    loaded_at: dt.datetime
    population: pd.DataFrame | None = None
    deaths: pd.DataFrame | None = None


def regions() -> pd.DataFrame:
    import json

    d = json.loads((S.DATA_DIR / "sources" / "azerbaijan_admin1_naturalearth.geojson").read_text("utf-8"))
    rows = [(f["properties"]["iso_3166_2"], f["properties"]["name_en"], f["properties"]["region"]) for f in d["features"]]
    out = pd.DataFrame(rows, columns=[S.REGION, S.REGION_NAME, S.PARENT_NAME])
    out[S.PARENT] = out[S.PARENT_NAME].str.slice(0, 3).str.upper()
    return out[[S.REGION, S.REGION_NAME, S.PARENT, S.PARENT_NAME]]


def load_demo(seed: int = 1) -> RegistryData:
    rng = np.random.default_rng(seed)
    un = pd.read_csv(S.DATA_DIR / "sources" / "azerbaijan_population_unwpp2024.csv")
    un = un[un["Year"].isin([2010, 2015, 2020, 2025])]
    un["age_start"] = un["AgeGrpStart"].clip(upper=85)
    un = un.groupby(["Year", "Sex", "age_start"], as_index=False)["Value"].sum()
    years = np.arange(2010, 2025)
    wide = un.pivot_table(index=["Sex", "age_start"], columns="Year", values="Value")
    interp = pd.DataFrame({y: np.array([np.interp(y, wide.columns, r) for r in wide.values]) for y in years}, index=wide.index)
    nat = interp.stack().rename("pop").reset_index().rename(columns={"level_2": "year"})
    nat.columns = ["Sex", "age_start", "year", "pop"]
    reg = regions()
    share = rng.dirichlet(np.full(len(reg), 4.0))
    pop = nat.merge(pd.DataFrame({S.REGION: reg[S.REGION], "share": share}), how="cross")
    pop[S.POPULATION] = pop["pop"] * pop["share"]
    pop[S.SEX] = np.where(pop["Sex"] == "Male", 1, 2).astype("int8")
    labels = dict(zip(S.age_group_edges(), S.AGE_GROUPS))
    pop[S.AGE_GROUP] = pop["age_start"].map(labels)
    pop[S.AGE_START] = pop["age_start"].astype("int16")
    pop[S.YEAR] = pop["year"].astype("int16")
    pop = pop[S.POPULATION_COLUMNS].reset_index(drop=True)
    # Cases: rate(age) = r65 * exp(0.08*(age-67)), Poisson per cell.
    sites = pd.DataFrame([(k, *v) for k, v in _SITES.items()], columns=["site", "_icd", "m", "f"])
    cells = pop.merge(sites, how="cross")
    base = np.where(cells[S.SEX] == 1, cells["m"], cells["f"]) / 1e5
    lam = cells[S.POPULATION] * base * np.exp(0.085 * (cells[S.AGE_START] + 2 - 67))
    n = rng.poisson(lam.to_numpy())
    rec = cells.loc[np.repeat(cells.index.to_numpy(), n)].reset_index(drop=True)
    k = len(rec)
    rec[S.AGE] = (rec[S.AGE_START] + rng.integers(0, 5, k)).astype("Int16")
    rec[S.TUMOUR_ID] = [f"T{i:07d}" for i in range(k)]
    rec[S.PATIENT_ID] = rec[S.TUMOUR_ID].str.replace("T", "P")
    rec[S.ICD10] = rec["_icd"] + "9"
    rec[S.TOPOGRAPHY] = rec[S.ICD10]
    rec[S.MORPHOLOGY] = "8140"
    rec[S.BEHAVIOUR] = 3
    rec[S.BASIS] = rng.choice([0, 1, 2, 7, 7, 7, 7, 5, 6, 9], k)
    rec[S.SITE_CI5] = rec["site"]
    rec[S.SITE_GLOBOCAN] = rec["site"].replace({"Lung (incl. trachea and bronchus)": "Lung", "Colon": "Colorectum"})
    rec[S.FIRST_PRIMARY] = True
    rec[S.INCLUDED] = rng.random(k) > 0.01
    rec[S.ROW] = np.arange(1, k + 1)
    rec[S.SEX] = rec[S.SEX].astype("Int8")
    rec = rec.drop(columns=["site", "_icd", "m", "f", S.POPULATION])
    bad = rec.loc[~rec[S.INCLUDED]]
    flags = pd.DataFrame({S.ROW: bad[S.ROW], S.TUMOUR_ID: bad[S.TUMOUR_ID], "check": "age_dates",
                          "severity": S.ERROR, "column": S.AGE, "message": "Age inconsistent with dates"})
    recon = pd.DataFrame({"reason": ["read", "used", "age_dates"], "records": [k, k - len(bad), len(bad)]})
    return RegistryData(rec, flags, recon, k, k - len(bad), len(bad), [], "demo (placeholder)",
                        dt.datetime.now(dt.timezone.utc), pop, None)


STANDARDS = {
    "world_segi1960": "segi_1960_world_18grp_per100k",
    "world_who2000": "who_2000_2025_world_18grp_published_per100k",
    "european_1976": "esp_1976_18grp_per100k",
    "nordic_2000": "nordic_2000_18grp_per100k",
}


def standard_weights(name: str) -> pd.Series:
    t = pd.read_csv(S.DATA_DIR / "reference" / "standard_populations.csv")
    t = t[t["standard"] == STANDARDS.get(name, name)]
    return pd.Series(t.iloc[:, -1].to_numpy(float), index=t["age_group_label"].to_numpy())


def dsr(data, *, count="count", population="population", standard="world_segi1960", age="age_group",
        by=None, method="tiwari", conf=0.95, multiplier=100000, **_):
    from scipy import stats

    by = list(by or [])
    w = standard_weights(standard)
    d = data.assign(_w=data[age].map(w).astype(float))
    d["_w"] = d["_w"] / d.groupby(by)["_w"].transform("sum") if by else d["_w"] / d["_w"].sum()
    d["_om"] = d["_w"] / d[population]
    d["_y"] = d["_om"] * d[count]
    d["_v"] = d["_om"] ** 2 * d[count]
    g = d.groupby(by, sort=False) if by else d.assign(_k=0).groupby("_k")
    out = g.agg(count=(count, "sum"), population=(population, "sum"), y=("_y", "sum"), v=("_v", "sum"),
                om=("_om", "mean"), om2=("_om", lambda s: (s ** 2).mean())).reset_index()
    if not by:
        out = out.drop(columns="_k")
    a = 1 - conf
    y, v = out["y"], out["v"]
    with np.errstate(all="ignore"):
        lower = np.where(y > 0, stats.gamma.ppf(a / 2, y ** 2 / v, scale=v / y), 0.0)
        upper = stats.gamma.ppf(1 - a / 2, (y + out["om"]) ** 2 / (v + out["om2"]), scale=(v + out["om2"]) / (y + out["om"]))
    out["crude_rate"] = out["count"] / out["population"] * multiplier
    out["value"], out["se"] = y * multiplier, np.sqrt(v) * multiplier
    out["lower"], out["upper"] = lower * multiplier, upper * multiplier
    out["flag"] = ""
    return out.drop(columns=["y", "v", "om", "om2"])


def cumulative_risk(data, *, count="count", population="population", age="age_group", by=None, **_):
    by = list(by or [])
    d = data[data[age].isin(S.AGE_GROUPS[:15])].assign(_r=lambda x: 5 * x[count] / x[population])
    g = d.groupby(by)["_r"].sum().reset_index() if by else pd.DataFrame({"_r": [d["_r"].sum()]})
    g["value"] = 100 * (1 - np.exp(-g["_r"]))
    return g.drop(columns="_r")


def indicators(records, *, by=("site_ci5",), deaths=None):
    r = records[records[S.INCLUDED]]
    g = r.groupby(list(by))
    out = pd.DataFrame({
        "cases": g.size(),
        "pct_mv": g[S.BASIS].apply(lambda s: 100 * s.isin(S.MV_BASIS).mean()),
        "pct_dco": g[S.BASIS].apply(lambda s: 100 * (s == S.DCO_BASIS).mean()),
    }).reset_index()
    return out


def t(key: str, lang: str = "en", **fmt) -> str:
    import json

    ns = key.split(".", 1)[0]
    for lg in (lang, "en"):
        p = S.DATA_DIR / "i18n" / lg / f"{ns}.json"
        if p.exists():
            cat = json.loads(p.read_text("utf-8"))
            if key in cat:
                return cat[key].format(**fmt) if fmt else cat[key]
    return key


# --- chart builders (until analytics.charts lands) -------------------------------------
def _fig():
    import plotly.graph_objects as go

    return go.Figure()


def top_sites_bar(table, *, value="value", site="site", sex="sex", title="", **_):
    """Two-sided bars: men to the left, women to the right (CI5 / Rcan style)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for code, name, sign, colour in ((1, "Men", -1, "#0072B2"), (2, "Women", 1, "#D55E00")):
        d = table[table[sex] == code]
        fig.add_bar(y=d[site], x=sign * d[value], orientation="h", name=name, marker_color=colour,
                    customdata=d[value], hovertemplate="%{y}: %{customdata:.1f}<extra></extra>")
    fig.update_layout(barmode="relative", title=title, yaxis={"autorange": "reversed"}, height=520)
    return fig


def site_distribution(table, *, value="count", site="site", title="", **_):
    import plotly.express as px

    return px.treemap(table, path=[site], values=value, title=title).update_layout(height=460)


def population_pyramid(table, *, title="", **_):
    import plotly.graph_objects as go

    fig = go.Figure()
    for code, name, sign, colour in ((1, "Men", -1, "#0072B2"), (2, "Women", 1, "#D55E00")):
        d = table[table[S.SEX] == code]
        fig.add_bar(y=d[S.AGE_GROUP], x=sign * d[S.POPULATION], orientation="h", name=name, marker_color=colour)
    fig.update_layout(barmode="relative", title=title, height=520)
    return fig


def asr_by_site(table, *, title="", **_):
    import plotly.graph_objects as go

    fig = go.Figure()
    for code, name, colour in ((1, "Men", "#0072B2"), (2, "Women", "#D55E00")):
        d = table[table[S.SEX] == code]
        fig.add_bar(y=d["site"], x=d["value"], orientation="h", name=name, marker_color=colour,
                    error_x={"type": "data", "symmetric": False, "array": d["upper"] - d["value"],
                             "arrayminus": d["value"] - d["lower"]})
    fig.update_layout(barmode="group", title=title, yaxis={"autorange": "reversed"}, height=700)
    return fig


def age_specific_curves(table, *, log=False, title="", **_):
    import plotly.express as px

    fig = px.line(table, x=S.AGE_GROUP, y="rate", color="site", markers=True, title=title)
    if log:
        fig.update_yaxes(type="log")
    return fig.update_layout(height=480)


def regions_compared(table, *, national=None, name="region_name", title="", **_):
    import plotly.graph_objects as go

    d = table.sort_values("value")
    fig = go.Figure(go.Bar(x=d["value"], y=d[name], orientation="h",
                           error_x={"type": "data", "symmetric": False, "array": d["upper"] - d["value"],
                                    "arrayminus": d["value"] - d["lower"]}))
    if national is not None:
        fig.add_vline(x=national, line_dash="dash")
    return fig.update_layout(title=title, height=max(400, 18 * len(d)))


def indicator_bars(table, *, x, y, target=None, title="", **_):
    import plotly.express as px

    fig = px.bar(table, x=x, y=y, title=title)
    if target is not None:
        fig.add_hline(y=target, line_dash="dash")
    return fig.update_layout(height=440)


def age_specific(data, *, count="count", population="population", age="age_group", by=None, multiplier=100000, **_):
    out = data.copy()
    out["rate"] = out[count] / out[population] * multiplier
    return out


def headline(site, value, ratio=None, *, sex="men", standard="world", lang="en", **_):
    s = f"Among {sex}, {site} had the highest rate, {value:.1f} per 100,000 ({standard} standard)"
    return s + (f", {ratio:.1f} times that of the other sex." if ratio else ".")


def module(name: str):
    """``analytics.<name>`` when it has landed, else this module's stand-ins."""
    import importlib
    import sys

    try:
        return importlib.import_module(f"analytics.{name}")
    except ImportError:
        return sys.modules[__name__]
