"""The ingested demo, prebuilt on disk as Parquet files under a SHA-256 manifest.

A cold start reads the demo's derived tables (records after ingest, derivation and checks; flags;
reconciliation; population; deaths; regions; risk factors) in about 0.3 s instead of running the
pipeline (3-5 s), and its incidence cubes of both site lists (``analytics.cube.DenseCube``: their
cells holding tumours, with the sums of their record keys under the server's disclosure rule,
and person-years) instead of counting them (0.75 s of CPU for the first one, in the first
visitor's wait). Nothing read here can execute code: the files are Parquet and JSON, never
pickles, and they are parsed only after their bytes match the manifest.

What is verified before anything is used (else the store is rebuilt from the demo files):

- the folder is a real folder owned by this user and writable by nobody else;
- ``manifest.json`` is small, well-formed, of this format, and was built from the same demo
  files, the same ``analytics`` code and the same library versions (SHA-256 of each), and under
  the same disclosure rule (its fingerprint: a changed ``REGISTRY_DISCLOSURE_SECRET`` rebuilds);
- every table file has the size and SHA-256 the manifest gives; the bytes hashed are the bytes
  parsed (read once, in memory), so a file swapped in between cannot slip through.

Writes are atomic (a temporary file, fsync, rename; the manifest is removed first and written
last), so a crash mid-build leaves no manifest and the next start rebuilds. Replicas share the
folder: a builder holds an exclusive lock; a reader that finds a half-replaced store retries once
under a shared lock, then rebuilds in memory.

Location: ``REGISTRY_CACHE_DIR`` (the systemd units set ``/var/cache/cancer-registry``), else
``.cache/demo`` in the checkout. ``python -m app_support.demo_store`` prebuilds it (``make run``
does, so the first visitor does not wait for the pipeline).
"""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import json
import logging
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import pandas as pd

from analytics import schema as S

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
STORE_ENV = "REGISTRY_CACHE_DIR"
DEFAULT_DIR = ROOT / ".cache" / "demo"
FORMAT = 2
MANIFEST = "manifest.json"
LOCK = ".lock"
MAX_MANIFEST_BYTES = 256 * 1024
EXTRA_TABLES = ("regions", "risk_factors")
LIBRARIES = ("pandas", "pyarrow", "geopandas", "shapely", "numpy")
CUBE_SITE_COLUMNS = (S.SITE_CI5, S.SITE_GLOBOCAN)     # the sidebar's site lists (app_support.filters.SCHEMES)


class Demo(NamedTuple):
    """The demo as the store serves it: the pipeline's RegistryData, the regions GeoDataFrame,
    the risk factors and the incidence cubes by site column (``analytics.cube.DenseCube``, their
    key sums under the server's disclosure rule: :func:`rule_fingerprint`, part of :func:`stamp`)."""
    registry: Any
    regions: Any
    risk_factors: pd.DataFrame
    cubes: dict[str, Any]


class StoreInvalid(Exception):
    """The store on disk cannot be trusted or is stale (the message says why)."""


def directory() -> Path:
    value = os.environ.get(STORE_ENV, "").strip()
    return (Path(value).expanduser() / "demo") if value else DEFAULT_DIR


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stamp() -> dict[str, Any]:
    """What the store was built from: SHA-256 of the demo files and of the analytics code, and
    the versions of the libraries that read and write the tables."""
    from analytics import demo

    files = {k: _sha256(p.read_bytes()) for k, p in sorted(demo.demo_paths().items()) if p.is_file()}
    code = hashlib.sha256()
    for p in sorted((ROOT / "analytics").rglob("*.py")):
        code.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    libs = {name: metadata.version(name) for name in LIBRARIES}
    return {"demo_files": files, "analytics_code": code.hexdigest(), "libraries": libs,
            "python": sys.version.split()[0], "disclosure_rule": rule_fingerprint()}


def rule_fingerprint() -> str:
    """The fingerprint of the server's disclosure rule (``app_support.cache.disclosure_rule``): the
    cubes' key sums depend on its secret."""
    from app_support import cache

    return cache.disclosure_rule().fingerprint


# --- building ------------------------------------------------------------------------------
def build() -> tuple[Any, Any, pd.DataFrame]:
    """Run the pipeline on the demo files: (RegistryData, regions GeoDataFrame, risk factors)."""
    from analytics import demo

    return demo.load_demo(), demo.load_demo_regions(), demo.load_demo_risk_factors()


def build_cubes(reg: Any, geo: Any) -> dict[str, Any]:
    """The demo's incidence cubes by site column, as the app builds them (``cache.incidence_cube``);
    dense ones only (the store's form: ``DenseCube.to_tables``)."""
    from analytics import cube as cubes
    from app_support import cache, state

    regions = state._region_table(geo)      # noqa: SLF001 - the Dataset's region table, as the app makes it
    built = {col: cache.incidence_cube(reg.records, reg.population, regions, col) for col in CUBE_SITE_COLUMNS}
    return {col: c for col, c in built.items() if isinstance(c, cubes.DenseCube)}


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _cube_tables(cubes: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Parquet tables and manifest entries (axes, table names) of the cubes."""
    tables: dict[str, bytes] = {}
    entries: dict[str, Any] = {}
    for col, c in cubes.items():
        axes, cells, pop = c.to_tables()
        tables[f"cube_{col}_cells"], tables[f"cube_{col}_population"] = _parquet(cells), _parquet(pop)
        entries[col] = {"axes": axes, "cells": f"cube_{col}_cells", "population": f"cube_{col}_population"}
    return tables, entries


def _frames_and_meta(reg: Any, geo: Any, rf: pd.DataFrame) -> tuple[dict[str, bytes], dict[str, Any]]:
    tables: dict[str, bytes] = {}
    meta: dict[str, Any] = {}
    for fld in dataclasses.fields(reg):
        value = getattr(reg, fld.name)
        if isinstance(value, pd.DataFrame):
            buf = io.BytesIO()
            value.to_parquet(buf, index=False)
            tables[fld.name] = buf.getvalue()
        elif value is None or isinstance(value, (str, int, float, bool, list, dict)):
            meta[fld.name] = value
        elif isinstance(value, pd.Timestamp):
            meta[fld.name] = {"timestamp": value.isoformat()}
        else:
            raise TypeError(f"RegistryData.{fld.name} ({type(value).__name__}) has no safe on-disk form")
    buf = io.BytesIO()
    geo.to_parquet(buf, index=False)
    tables["regions"] = buf.getvalue()
    buf = io.BytesIO()
    rf.to_parquet(buf, index=False)
    tables["risk_factors"] = buf.getvalue()
    json.dumps(meta)                # raises on anything JSON cannot hold
    return tables, meta


@contextmanager
def _locked(folder: Path, kind: int) -> Iterator[None]:
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(fd, kind)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _atomic_write(folder: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prepare(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(folder)
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077:
        os.chmod(folder, 0o700)
    _check_folder(folder)


def write(folder: Path, reg: Any, geo: Any, rf: pd.DataFrame, built_from: dict[str, Any],
          cubes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store the built demo and its cubes (built here when not given: :func:`build_cubes`) in
    ``folder`` (tables first, manifest last, each atomically); returns the cubes."""
    cubes = build_cubes(reg, geo) if cubes is None else cubes
    tables, meta = _frames_and_meta(reg, geo, rf)
    cube_tables, cube_entries = _cube_tables(cubes)
    tables.update(cube_tables)
    _prepare(folder)
    with _locked(folder, fcntl.LOCK_EX):
        (folder / MANIFEST).unlink(missing_ok=True)
        for name, data in tables.items():
            _atomic_write(folder, f"{name}.parquet", data)
        manifest = {"format": FORMAT, "built_from": built_from, "meta": meta, "cubes": cube_entries,
                    "tables": {name: {"sha256": _sha256(data), "size": len(data)} for name, data in tables.items()}}
        _atomic_write(folder, MANIFEST, json.dumps(manifest, sort_keys=True, indent=1).encode("utf-8"))
    log.info("demo store written to %s", folder)
    return cubes


# --- reading -------------------------------------------------------------------------------
def _check_folder(folder: Path) -> None:
    try:
        st = os.lstat(folder)
    except FileNotFoundError as exc:
        raise StoreInvalid("no store yet") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise StoreInvalid(f"{folder} is not a folder (a link or a file)")
    if st.st_uid != os.getuid():
        raise StoreInvalid(f"{folder} belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o022:
        raise StoreInvalid(f"{folder} is writable by others (mode {stat.filemode(st.st_mode)})")


def _read_bytes(path: Path, limit: int | None = None) -> bytes:
    """A regular file's bytes, refusing links and files of others."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise StoreInvalid(f"{path.name} cannot be opened ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise StoreInvalid(f"{path.name} is not a private regular file")
        if limit is not None and st.st_size > limit:
            raise StoreInvalid(f"{path.name} is too large ({st.st_size} bytes)")
        return fh.read()


def _manifest(folder: Path, want: dict[str, Any]) -> dict[str, Any]:
    raw = _read_bytes(folder / MANIFEST, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreInvalid(f"manifest is not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreInvalid("manifest of another format")
    if manifest.get("built_from") != want:
        raise StoreInvalid("stale: built from other demo files, code, library versions or disclosure rule")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not isinstance(manifest.get("meta"), dict) \
            or not isinstance(manifest.get("cubes"), dict):
        raise StoreInvalid("manifest without tables")
    return manifest


def _cube_names(manifest: dict[str, Any]) -> set[str]:
    """The table names of the manifest's cubes (StoreInvalid when an entry is malformed)."""
    names: set[str] = set()
    for col, entry in manifest["cubes"].items():
        if col not in CUBE_SITE_COLUMNS or not isinstance(entry, dict) or not isinstance(entry.get("axes"), dict) \
                or entry.get("cells") != f"cube_{col}_cells" or entry.get("population") != f"cube_{col}_population":
            raise StoreInvalid(f"manifest entry of the {col} cube is malformed")
        names |= {entry["cells"], entry["population"]}
    return names


def _read_cubes(manifest: dict[str, Any], blobs: dict[str, bytes]) -> dict[str, Any]:
    from analytics import cube as cubes

    return {col: cubes.DenseCube.from_tables(entry["axes"], pd.read_parquet(io.BytesIO(blobs[entry["cells"]])),
                                             pd.read_parquet(io.BytesIO(blobs[entry["population"]])))
            for col, entry in manifest["cubes"].items()}


def _table(folder: Path, name: str, entry: Any) -> bytes:
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("size"), int):
        raise StoreInvalid(f"manifest entry of {name} is malformed")
    data = _read_bytes(folder / f"{name}.parquet", entry["size"])
    if len(data) != entry["size"] or _sha256(data) != entry["sha256"]:
        raise StoreInvalid(f"{name}.parquet does not match its SHA-256 in the manifest")
    return data


def read(folder: Path, want: dict[str, Any]) -> Demo:
    """The verified store, or :class:`StoreInvalid`."""
    import geopandas as gpd

    from analytics.pipeline import RegistryData

    _check_folder(folder)
    manifest = _manifest(folder, want)
    fields = {f.name for f in dataclasses.fields(RegistryData)}
    cube_tables = _cube_names(manifest)
    names = set(manifest["tables"]) - cube_tables
    if names - fields - set(EXTRA_TABLES) or not set(EXTRA_TABLES) <= names \
            or (names | set(manifest["meta"])) - set(EXTRA_TABLES) != fields \
            or not cube_tables <= set(manifest["tables"]):
        raise StoreInvalid("manifest tables do not match RegistryData")
    # the bytes verified are the bytes parsed
    blobs = {name: _table(folder, name, entry) for name, entry in manifest["tables"].items()}
    kwargs: dict[str, Any] = {}
    try:
        for name, value in manifest["meta"].items():
            kwargs[name] = pd.Timestamp(value["timestamp"]) if isinstance(value, dict) and set(value) == {"timestamp"} \
                else value
        for name in fields & names:
            kwargs[name] = pd.read_parquet(io.BytesIO(blobs[name]))
        geo = gpd.read_parquet(io.BytesIO(blobs["regions"]))
        rf = pd.read_parquet(io.BytesIO(blobs["risk_factors"]))
        return Demo(RegistryData(**kwargs), geo, rf, _read_cubes(manifest, blobs))
    except Exception as exc:  # noqa: BLE001 - any unreadable content means: rebuild
        raise StoreInvalid(f"a table cannot be read as Parquet ({type(exc).__name__}: {exc})") from exc


def load(folder: Path | None = None) -> Demo:
    """The demo: from the verified store, else built (and stored for the next start)."""
    folder = folder or directory()
    want = stamp()
    try:
        return read(folder, want)
    except StoreInvalid as exc:
        reason = str(exc)
    if reason != "no store yet" and folder.is_dir() and not os.path.islink(folder):
        try:                      # another replica may be writing it right now: wait for it, retry
            with _locked(folder, fcntl.LOCK_SH):
                return read(folder, want)
        except (StoreInvalid, OSError) as exc:
            reason = str(exc)
    log.info("demo store %s: %s; building it", folder, reason)
    built = build()
    cubes = build_cubes(*built[:2])
    try:
        write(folder, *built, want, cubes)
    except (OSError, TypeError, StoreInvalid) as exc:
        log.warning("demo store %s not written (%s): the demo is served from memory", folder, exc)
    return Demo(*built, cubes)


def main() -> None:
    """``python -m app_support.demo_store``: build the store when it is missing or stale."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = directory()
    want = stamp()
    try:
        read(folder, want)
        log.info("demo store %s is current", folder)
    except StoreInvalid as exc:
        log.info("demo store %s: %s; building it", folder, exc)
        write(folder, *build(), want)


if __name__ == "__main__":
    main()
