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
    lifetable: pd.DataFrame | None = None      # population life table for net survival (year, sex, age, qx)
    lifetable_label: str = ""

    @property
    def records(self) -> pd.DataFrame:
        return self.registry.records

    @property
    def population(self) -> pd.DataFrame:
        return self.registry.population


def _region_table(geo) -> pd.DataFrame:
    """Region codes and names without geometry; ``parent_name_en`` kept when the file has it."""
    df = pd.DataFrame(geo.drop(columns="geometry", errors="ignore"))
    if S.REGION_NAME not in df:
        df[S.REGION_NAME] = df[S.REGION]
    if S.PARENT not in df:
        df[S.PARENT] = ""
    if S.PARENT_NAME not in df:
        df[S.PARENT_NAME] = df[S.PARENT]
    cols = REGION_TABLE + (["parent_name_en"] if "parent_name_en" in df else [])
    out = df[cols].astype(str).fillna("").drop_duplicates(S.REGION).reset_index(drop=True)
    if "parent_name_en" not in out:
        out["parent_name_en"] = out[S.PARENT_NAME]
    return out


def _demo_stamp() -> tuple:
    """Sizes and modification times of the demo files and of the analytics code: either changing
    invalidates the disk cache."""
    from analytics import demo

    files = tuple(sorted((k, p.stat().st_size, p.stat().st_mtime_ns) for k, p in demo.demo_paths().items()
                         if p.is_file()))
    # ... and a change to the ingest code (derivations, checks) too
    code = max(p.stat().st_mtime_ns for p in (S.DATA_DIR.parent / "analytics").rglob("*.py"))
    return files + (("analytics", code),)


@st.cache_data(persist="disk", show_spinner=False)
def _demo_from_disk(stamp: tuple, code_version: str):
    """The ingested demo (pipeline run once), kept on disk across restarts: a cold start reads
    one pickle (~0.2 s) instead of re-running ingest, derivation and validation (~2-5 s)."""
    from analytics import demo

    return demo.load_demo(), demo.load_demo_regions(), demo.load_demo_risk_factors()


@st.cache_resource(show_spinner="Loading the demo registry…")
def demo_dataset() -> Dataset:
    """The synthetic demo registry, loaded once per server process and shared read-only."""
    import analytics
    from analytics import demo

    reg, geo, rf = _demo_from_disk(_demo_stamp(), analytics.__version__)
    return Dataset("demo", reg, _region_table(geo), getattr(demo, "DEMO_NAME", "Demo"), geo, rf,
                   demo.load_demo_lifetable(), "demo")


def upload_token(*parts: bytes) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p or b"")
        h.update(b"\0")
    return "upload:" + h.hexdigest()[:16]


LIFETABLE_KEY = "_lifetable"     # session: (file name, bytes, checked frame) of an uploaded life table


def with_lifetable(ds: Dataset) -> Dataset:
    """``ds`` with the session's uploaded life table, if any: a new dataset whose token includes the
    life table's bytes (so no cached survival result of another table is served); else ``ds`` with
    its own table (the demo's) or, for an upload without one, the demo's table (the page says so)."""
    up = st.session_state.get(LIFETABLE_KEY)
    if up is not None:
        name, raw, frame = up
        return dataclasses.replace(ds, token=upload_token(ds.token.encode(), raw), lifetable=frame,
                                   lifetable_label=name)
    if ds.lifetable is not None:
        return ds
    demo = demo_dataset()
    return dataclasses.replace(ds, lifetable=demo.lifetable, lifetable_label="demo_fallback")


def set_upload(ds: Dataset | None) -> None:
    st.session_state["_upload"] = ds
    st.session_state["_source"] = "upload" if ds is not None else "demo"


def active() -> Dataset:
    """The data the pages show: the session's upload when selected, else the demo."""
    up = st.session_state.get("_upload")
    if up is not None and st.session_state.get("_source") == "upload":
        return up
    return demo_dataset()


DATA_FOLDER_ENV = "REGISTRY_DATA_DIR"


def data_folder():
    """The operator's folder for keeping uploads (environment variable ``REGISTRY_DATA_DIR``),
    or None: by default an upload lives in the session's memory only and is never written."""
    import os
    from pathlib import Path

    value = os.environ.get(DATA_FOLDER_ENV, "").strip()
    return Path(value) if value else None


def keep_upload(files: dict[str, tuple[str, bytes]]):
    """Write the files of a loaded upload ({role: (file name, bytes)}) to a new dated folder
    under :func:`data_folder`; returns that folder, or None when no folder is configured."""
    import datetime as dt
    import re

    root = data_folder()
    if root is None:
        return None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = root / f"upload_{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    for role, (name, data) in files.items():
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name) or role
        (folder / f"{role}_{safe}").write_bytes(data)
    return folder
