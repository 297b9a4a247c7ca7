"""The active data set: the demo (cached once per process) or the session's upload.

Uploads live in ``st.session_state`` only; nothing is written to disk.
"""
from __future__ import annotations

import dataclasses
import hashlib

import pandas as pd
import streamlit as st

from analytics import schema as S

REGION_TABLE = [S.REGION, S.REGION_NAME, S.PARENT, S.PARENT_NAME]


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    token: str                     # hashed by the caches: "demo" or "upload:<sha1>"
    registry: object               # analytics.pipeline.RegistryData
    regions: pd.DataFrame          # REGION_TABLE columns, no geometry
    label: str                     # shown in provenance footers
    geo: object = None             # GeoDataFrame of the regions when available
    risk_factors: pd.DataFrame | None = None

    @property
    def records(self) -> pd.DataFrame:
        return self.registry.records

    @property
    def population(self) -> pd.DataFrame:
        return self.registry.population


def _region_table(geo) -> pd.DataFrame:
    df = pd.DataFrame(geo.drop(columns="geometry", errors="ignore"))
    for c in REGION_TABLE:
        if c not in df:
            df[c] = df[S.REGION] if c in (S.REGION_NAME,) else (df[S.PARENT] if c == S.PARENT_NAME and S.PARENT in df else "")
    return df[REGION_TABLE].astype(str).drop_duplicates(S.REGION).reset_index(drop=True)


@st.cache_resource(show_spinner="Loading the demo registry…")
def demo_dataset() -> Dataset:
    """The synthetic demo registry, loaded once per server process and shared read-only."""
    try:
        from analytics import demo
    except ImportError:
        demo = None
    if demo is not None:
        reg = demo.load_demo()
        paths = demo.demo_paths()
        geo, regions, rf = None, None, None
        try:
            from analytics.readers import read_regions

            if "regions" in paths:
                geo = read_regions(paths["regions"])
                regions = _region_table(geo)
        except Exception:  # regions are optional for every page but the maps
            geo = None
        try:
            from analytics.readers import read_risk_factors

            if "risk_factors" in paths:
                rf = read_risk_factors(paths["risk_factors"])
        except Exception:
            rf = None
        if regions is None:
            codes = sorted(reg.population[S.REGION].astype(str).unique())
            regions = pd.DataFrame({S.REGION: codes, S.REGION_NAME: codes, S.PARENT: "", S.PARENT_NAME: ""})
        return Dataset("demo", reg, regions, "Demo registry (synthetic)", geo, rf)
    from app_support import fallback

    return Dataset("demo", fallback.load_demo(), fallback.regions(), "Demo registry (synthetic, placeholder)")


def upload_token(*parts: bytes) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p or b"")
        h.update(b"\0")
    return "upload:" + h.hexdigest()[:16]


def set_upload(ds: Dataset | None) -> None:
    st.session_state["_upload"] = ds
    st.session_state["_source"] = "upload" if ds is not None else "demo"


def active() -> Dataset:
    """The data the pages show: the session's upload when selected, else the demo."""
    up = st.session_state.get("_upload")
    if up is not None and st.session_state.get("_source") == "upload":
        return up
    return demo_dataset()
