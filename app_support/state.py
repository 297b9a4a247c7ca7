"""The active data set: the demo (cached once per process) or the session's upload.

Uploads live in ``st.session_state``; they are written to disk only when the operator sets
``REGISTRY_DATA_DIR`` (:func:`keep_upload`: parsed tables without identifier columns, or
the raw files too with ``REGISTRY_KEEP_RAW=1``). Every uploaded file, those of the Maps
and Projections pages included, is part of the dataset token (:func:`upload_token`,
:func:`page_upload`), so no cached result of one file is ever shown for another.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import weakref
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from analytics import schema as S
from analytics.ingest.geo import disable_network

log = logging.getLogger(__name__)
disable_network()   # GDAL (and PROJ) in the server process never fetch anything from the network

REGION_TABLE = [S.REGION, S.REGION_NAME, S.PARENT, S.PARENT_NAME]
DEMO_TOKEN = "demo"


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
    # cubes read from the demo store (app_support/demo_store.py), by (site column, disclosure rule
    # fingerprint), each beside the registry it was built from
    cubes: dict = dataclasses.field(default_factory=dict, repr=False)

    def prebuilt_cube(self, site_column: str, rule_id: str) -> object | None:
        """The prebuilt incidence cube of ``site_column`` under the rule ``rule_id`` when it was
        built from this data set's own registry, else None (app_support.cache builds it)."""
        registry, cube = self.cubes.get((site_column, rule_id), (None, None))
        return cube if registry is self.registry else None

    def __post_init__(self) -> None:
        if not self.is_demo:
            release_when_dropped(self.registry)

    @property
    def records(self) -> pd.DataFrame:
        return self.registry.records

    @property
    def is_demo(self) -> bool:
        """The bundled demo (whatever page-level files the session added to its token)."""
        return self.token == DEMO_TOKEN or self.token.startswith(DEMO_TOKEN + "+")

    @property
    def population(self) -> pd.DataFrame:
        return self.registry.population


_WATCHED_LOCK = threading.Lock()
_WATCHED: "weakref.WeakValueDictionary[int, object]" = weakref.WeakValueDictionary()   # id -> registry


def watched(registry: object) -> bool:
    """Is :func:`release_when_dropped` watching this registry?"""
    return _WATCHED.get(id(registry)) is registry


def release_when_dropped(registry: object) -> None:
    """When an upload's registry is dropped (its session ended or loaded another file), give the
    memory its records held back to the system (:func:`release_memory`, in a thread of its own:
    the last reference may go on the server's event loop). Once per registry."""
    with _WATCHED_LOCK:
        if registry is None or watched(registry):
            return
        try:
            _WATCHED[id(registry)] = registry
        except TypeError:        # an object without weak references (a stand-in of a test): not watched
            return
    release = weakref.finalize(registry, lambda: threading.Thread(target=release_memory, name="release-memory",
                                                                  daemon=True).start())
    release.atexit = False       # at interpreter exit there is nothing to give back (and no thread may start)


def release_memory() -> None:
    """Return freed heap memory to the system: glibc keeps the pages of freed small blocks (an
    upload's millions of strings and index arrays) in its arenas, so the server's RSS stays at
    its peak after the records are gone; ``malloc_trim(0)`` gives them back, and Arrow's pool
    releases what it keeps. Not on glibc: nothing to do."""
    import pyarrow as pa

    from analytics.ingest import heap

    pa.default_memory_pool().release_unused()
    log.debug("malloc_trim: %s", "memory returned" if heap.trim() else "nothing to return")


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


_DEMO_LOADED = threading.Event()


def demo_dataset() -> Dataset:
    """The synthetic demo registry, loaded once per server process and shared read-only.

    Read from the verified Parquet store of app_support/demo_store.py (no pickles on disk),
    built there from the demo files when missing, stale or tampered with. While it loads, a
    script run shows a spinner in the user's language (the process's warm-up thread has none)."""
    if _DEMO_LOADED.is_set() or get_script_run_ctx() is None:
        return _demo_dataset()
    from app_support.filters import current_lang
    from app_support.text import t

    with st.spinner(t("app.loading_demo", current_lang())):
        return _demo_dataset()


@st.cache_resource(show_spinner=False)
def _demo_dataset() -> Dataset:
    from analytics import demo
    from app_support import demo_store

    reg, geo, rf, cubes = demo_store.load()
    rule = demo_store.rule_fingerprint()      # the store's cubes are of the server's rule (its stamp)
    out = Dataset(DEMO_TOKEN, reg, _region_table(geo), getattr(demo, "DEMO_NAME", "Demo"), geo, rf,
                  demo.load_demo_lifetable(), "demo", cubes={(col, rule): (reg, cube) for col, cube in cubes.items()})
    _DEMO_LOADED.set()
    return out


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data or b"").hexdigest()


def upload_token(files: dict[str, tuple[str, bytes]], mapping: object = None) -> str:
    """The token of a loaded upload: a hash of every file (role, name and content: extract,
    population, regions, risk factors, deaths, mapping file) and of the column/code mapping
    as edited on the page. Another file, or the same file mapped differently, is another
    token, so no cache can return the results of the previous one."""
    h = hashlib.sha256()
    for role in sorted(files):
        name, data = files[role]
        h.update(f"{role}\0{name}\0{file_digest(data)}\0".encode())
    h.update(json.dumps(mapping, sort_keys=True, default=str).encode())
    return "upload:" + h.hexdigest()[:20]


PAGE_UPLOADS = "_page_uploads"


def page_upload(role: str, name: str | None, data: bytes | None) -> bool:
    """Register (or, with ``data`` None, forget) a file uploaded on a page rather than on the
    Data page (the SIR reference rates of the Maps page, the population projection of the
    Projections page): it becomes part of the session's dataset token (:func:`active`).
    Returns True when this changed the token; the page should then rerun so every cached
    result is looked up under the new token."""
    store = st.session_state.setdefault(PAGE_UPLOADS, {})
    digest = None if data is None else f"{name}:{file_digest(data)}"
    if store.get(role) == digest:
        return False
    if digest is None:
        store.pop(role, None)
    else:
        store[role] = digest
    return True


def _with_page_uploads(ds: "Dataset") -> "Dataset":
    store = st.session_state.get(PAGE_UPLOADS) or {}
    if not store:
        return ds
    h = hashlib.sha256("|".join(f"{k}={store[k]}" for k in sorted(store)).encode()).hexdigest()[:12]
    return dataclasses.replace(ds, token=f"{ds.token}+{h}")


LIFETABLE_KEY = "_lifetable"     # session: (file name, bytes, checked frame) of an uploaded life table


def with_lifetable(ds: Dataset) -> Dataset:
    """``ds`` with the session's uploaded life table, if any: a new dataset whose token includes the
    life table's bytes (so no cached survival result of another table is served); else ``ds`` with
    its own table (the demo's) or, for an upload without one, the demo's table (the page says so)."""
    up = st.session_state.get(LIFETABLE_KEY)
    if up is not None:
        name, raw, frame = up
        return dataclasses.replace(ds, token=f"{ds.token}+lifetable:{file_digest(raw)[:16]}", lifetable=frame,
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
        return _with_page_uploads(up)
    return _with_page_uploads(demo_dataset())


DATA_FOLDER_ENV = "REGISTRY_DATA_DIR"


def data_folder():
    """The operator's folder for keeping uploads (environment variable ``REGISTRY_DATA_DIR``),
    or None: by default an upload lives in the session's memory only and is never written."""
    import os
    from pathlib import Path

    value = os.environ.get(DATA_FOLDER_ENV, "").strip()
    return Path(value) if value else None


KEEP_RAW_ENV = "REGISTRY_KEEP_RAW"


def keep_raw() -> bool:
    """True when the operator chose to keep the raw uploaded files too (``REGISTRY_KEEP_RAW=1``):
    they may hold identifier columns, and the Data page and the README say so."""
    import os

    return os.environ.get(KEEP_RAW_ENV, "").strip().lower() in ("1", "true", "yes")


def keep_upload(loaded, files: dict[str, tuple[str, bytes]], mapping: object, token: str):
    """Keep a loaded upload under :func:`data_folder` (None when no folder is configured).

    Written into a new folder of its own (``upload_<UTC time>_<random>``, so two uploads in
    the same second never meet), first under a hidden temporary name and then renamed in one
    step, so a reader never sees half an upload. What is kept has no identifier: the
    records as read (data-model columns only; identifier columns were never read), the
    population, deaths, risk factors and regions as read, the mapping, the reconciliation
    and flag report, and a manifest (file names, sizes, SHA-256, counts). The raw files are
    added only when the operator opted in (:func:`keep_raw`).
    """
    import datetime as dt
    import os
    import re
    import secrets
    import shutil
    import tempfile

    root = data_folder()
    if root is None:
        return None
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".incoming_", dir=root))
    try:
        _write_kept(tmp, loaded, files, mapping, token)
        if keep_raw():
            (tmp / "raw").mkdir()
            for role, (name, data) in files.items():
                safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).lstrip(".") or role
                (tmp / "raw" / f"{role}_{safe}").write_bytes(data)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        while True:
            final = root / f"upload_{stamp}_{secrets.token_hex(4)}"
            try:
                os.rename(tmp, final)            # atomic; fails if the name exists (never overwrites)
                return final
            except OSError:
                if not final.exists():
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_kept(folder: Path, loaded, files: dict[str, tuple[str, bytes]], mapping: object, token: str) -> None:
    import json as _json

    reg = loaded.registry
    cols = [c for c in S.TUMOUR_COLUMNS + [S.ROW] if c in reg.records.columns]
    reg.records[cols].to_parquet(folder / "records.parquet", index=False)
    for label, table in (("population", reg.population), ("deaths", reg.deaths),
                         ("risk_factors", loaded.risk_factors)):
        if table is not None:
            table.to_parquet(folder / f"{label}.parquet", index=False)
    if loaded.geo is not None and loaded.region_source == "upload":
        loaded.geo.to_parquet(folder / "regions.parquet", index=False)
    reg.reconciliation.to_csv(folder / "reconciliation.csv", index=False)
    reg.report().to_csv(folder / "flagged_records.csv", index=False)
    manifest = {
        "token": token, "loaded_at": str(reg.loaded_at), "raw_files_kept": keep_raw(),
        "files": {role: {"name": name, "bytes": len(data), "sha256": file_digest(data)}
                  for role, (name, data) in files.items()},
        "records": {"read": reg.n_read, "used": reg.n_used, "excluded": reg.n_excluded},
        "identifier_columns_not_kept": dict(reg.dropped_columns), "mapping": mapping,
        "regions": loaded.region_source,
    }
    (folder / "manifest.json").write_text(_json.dumps(manifest, indent=2, default=str, ensure_ascii=False),
                                          encoding="utf-8")
