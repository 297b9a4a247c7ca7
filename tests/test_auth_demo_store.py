"""The demo's on-disk store (app_support/demo_store.py) replaces Streamlit's pickled disk cache:
what it serves equals the pipeline's own output, and a corrupted, planted, stale, foreign or
half-written store is rejected and rebuilt, never executed (issue 11, "Nothing is closed")."""
from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app_support import demo_store

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ("records", "flags", "reconciliation", "population", "deaths")


@pytest.fixture(scope="module")
def fresh():
    """The demo straight through the pipeline (analytics.demo), not through the store."""
    from analytics import demo

    reg, geo = demo.load_demo(), demo.load_demo_regions()
    return reg, geo, demo.load_demo_risk_factors(), demo_store.build_cubes(reg, geo)


@pytest.fixture(scope="module")
def fresh_rule(fresh):
    """The disclosure rule the fresh demo's cubes were counted under (their key sums depend on it)."""
    return demo_store.rule_fingerprint()


def _serve_fresh(mp, fresh, fresh_rule, builds: list) -> None:
    """demo_store's pipeline build returns the fresh demo (counted in ``builds``); its cubes of
    that same demo under the same rule are the fresh ones too, counted once per module rather
    than at every (re)build (about 0.9 s of CPU each, twice a test): these tests are about the
    store. Counting them for real inside ``load`` is what test_app_reads_the_demo_from_the_store,
    test_the_app_serves_the_stores_cube_... and, under another secret,
    test_another_disclosure_secret_makes_the_store_stale do."""
    count_cubes = demo_store.build_cubes

    def build():
        builds.append(1)
        return fresh[:3]

    def build_cubes(reg, geo):
        if reg is fresh[0] and geo is fresh[1] and demo_store.rule_fingerprint() == fresh_rule:
            return dict(fresh[3])
        return count_cubes(reg, geo)

    mp.setattr(demo_store, "build", build)
    mp.setattr(demo_store, "build_cubes", build_cubes)


@pytest.fixture(scope="module")
def written(tmp_path_factory, fresh, fresh_rule):
    """A store written by load() into an empty folder (one build), once for the module."""
    builds: list = []
    folder = tmp_path_factory.mktemp("written") / "demo"
    with pytest.MonkeyPatch.context() as mp:
        _serve_fresh(mp, fresh, fresh_rule, builds)
        demo_store.load(folder)
    assert builds == [1] and (folder / demo_store.MANIFEST).is_file()
    return folder


@pytest.fixture()
def store(tmp_path, written, fresh, fresh_rule, monkeypatch):
    """A store folder, and a counter of pipeline builds (the build returns the fresh demo).

    The folder is a copy of the module's ``written`` store (same bytes, modes kept: ~0.02 s
    instead of ~0.4 s of writing at every test); ``builds`` starts with the build that wrote it."""
    builds = [1]
    _serve_fresh(monkeypatch, fresh, fresh_rule, builds)
    folder = tmp_path / "demo"
    shutil.copytree(written, folder)
    assert (folder / demo_store.MANIFEST).is_file() and folder.stat().st_mode & 0o777 == 0o700
    return folder, builds


def assert_same(got, fresh):
    reg, geo, rf, cubes = got
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(reg, name), getattr(fresh[0], name), check_exact=True)
    for name in ("n_read", "n_used", "n_excluded", "dropped_columns", "source", "loaded_at", "ignored_columns",
                 "column_map", "info", "assumptions"):
        assert getattr(reg, name) == getattr(fresh[0], name), name
    pd.testing.assert_frame_equal(pd.DataFrame(geo.drop(columns="geometry")),
                                  pd.DataFrame(fresh[1].drop(columns="geometry")), check_exact=True)
    assert geo.geometry.geom_equals_exact(fresh[1].geometry, tolerance=0).all() and geo.crs == fresh[1].crs
    pd.testing.assert_frame_equal(rf, fresh[2], check_exact=True)
    assert_same_cubes(cubes, fresh[3])


def assert_same_cubes(got: dict, want: dict) -> None:
    """The store's cubes are the cubes the app builds from the same demo (arrays, axes)."""
    assert set(got) == set(want) == set(demo_store.CUBE_SITE_COLUMNS)
    for col, cube in want.items():
        for name in ("cases", "keys", "pop"):
            a, b = getattr(got[col], name), getattr(cube, name)
            assert np.array_equal(a, b) and a.dtype == b.dtype, (col, name)
        for name in ("years", "regions", "parents", "ages", "sites"):
            a, b = getattr(got[col].axes, name), getattr(cube.axes, name)
            assert a.dtype == b.dtype and list(a) == list(b), (col, name)
        assert got[col].axes.c44_sites == cube.axes.c44_sites and got[col].shape == cube.shape


def test_store_serves_exactly_what_the_pipeline_gives(store, fresh):
    folder, builds = store
    got = demo_store.load(folder)
    assert builds == [1]                                  # read, not rebuilt
    assert_same(got, fresh)
    assert got[0].n_read == got[0].n_used + got[0].n_excluded == len(got[0].records)
    # nothing but Parquet and JSON on disk, private to this user
    names = {p.name for p in folder.iterdir()}
    cube_tables = [f"cube_{col}_{part}" for col in demo_store.CUBE_SITE_COLUMNS for part in ("cells", "population")]
    assert names == {demo_store.MANIFEST, demo_store.LOCK} | {f"{n}.parquet" for n in
                                                             (*FRAMES, *demo_store.EXTRA_TABLES, *cube_tables)}
    for p in folder.iterdir():
        assert p.stat().st_mode & 0o077 == 0, p
        if p.suffix == ".parquet":
            assert p.read_bytes()[:4] == b"PAR1"


def test_corrupted_table_is_rejected_and_rebuilt(store, fresh):
    folder, builds = store
    path = folder / "records.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                          # one flipped byte, as a crash or a bad disk leaves
    path.write_bytes(bytes(data))
    with pytest.raises(demo_store.StoreInvalid, match="SHA-256"):
        demo_store.read(folder, demo_store.stamp())
    got = demo_store.load(folder)
    assert builds == [1, 1]
    assert_same(got, fresh)
    demo_store.read(folder, demo_store.stamp())            # the rebuilt store verifies again


class _Payload:
    """Unpickling this creates a marker file: it must never happen."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_planted_pickle_is_never_executed_even_with_a_matching_manifest(store, fresh, tmp_path):
    folder, builds = store
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Payload(marker))
    (folder / "records.parquet").write_bytes(evil)
    # the attacker also rewrites the manifest so that the hash matches
    manifest = json.loads((folder / demo_store.MANIFEST).read_text())
    import hashlib

    manifest["tables"]["records"] = {"sha256": hashlib.sha256(evil).hexdigest(), "size": len(evil)}
    (folder / demo_store.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(demo_store.StoreInvalid, match="Parquet"):
        demo_store.read(folder, demo_store.stamp())
    got = demo_store.load(folder)
    assert not marker.exists()
    assert builds == [1, 1]
    assert_same(got, fresh)


@pytest.mark.parametrize("damage", ["no_manifest", "garbage_manifest", "stale", "path_in_manifest",
                                   "missing_table", "huge_manifest", "cube_axes", "cube_entry"])
def test_damaged_or_stale_manifest_means_rebuild(store, fresh, damage, monkeypatch):
    folder, builds = store
    mpath = folder / demo_store.MANIFEST
    manifest = json.loads(mpath.read_text())
    if damage == "no_manifest":                            # a crash between the tables and the manifest
        mpath.unlink()
    elif damage == "garbage_manifest":
        mpath.write_bytes(b"\x80\x04\x95 not json")
    elif damage == "stale":                                # the analytics code changed since the build
        real = demo_store.stamp()
        monkeypatch.setattr(demo_store, "stamp", lambda: {**real, "analytics_code": "0" * 64})
    elif damage == "path_in_manifest":                     # a manifest naming a file outside the store
        manifest["tables"]["../../etc/passwd"] = {"sha256": "0" * 64, "size": 10}
        mpath.write_text(json.dumps(manifest))
    elif damage == "missing_table":
        (folder / "flags.parquet").unlink()
    elif damage == "huge_manifest":
        mpath.write_bytes(b" " * (demo_store.MAX_MANIFEST_BYTES + 1))
    elif damage == "cube_axes":                            # axes that do not fit the cube's tables
        manifest["cubes"][demo_store.CUBE_SITE_COLUMNS[0]]["axes"]["years"].pop()
        mpath.write_text(json.dumps(manifest))
    elif damage == "cube_entry":                           # a cube naming another file
        manifest["cubes"][demo_store.CUBE_SITE_COLUMNS[0]]["cells"] = "records"
        mpath.write_text(json.dumps(manifest))
    with pytest.raises(demo_store.StoreInvalid):
        demo_store.read(folder, demo_store.stamp())
    assert_same(demo_store.load(folder), fresh)
    assert builds == [1, 1]
    demo_store.read(folder, demo_store.stamp())


def test_store_writable_by_others_is_rejected_and_made_private(store, fresh):
    folder, builds = store
    os.chmod(folder, 0o777)
    with pytest.raises(demo_store.StoreInvalid, match="writable by others"):
        demo_store.read(folder, demo_store.stamp())
    assert_same(demo_store.load(folder), fresh)
    assert builds == [1, 1] and folder.stat().st_mode & 0o777 == 0o700
    os.chmod(folder / "records.parquet", 0o666)            # one file opened up
    with pytest.raises(demo_store.StoreInvalid, match="private regular file"):
        demo_store.read(folder, demo_store.stamp())


def test_symlinked_store_is_not_followed(store, fresh, tmp_path):
    folder, builds = store
    link = tmp_path / "link"
    link.symlink_to(folder, target_is_directory=True)
    with pytest.raises(demo_store.StoreInvalid, match="not a folder"):
        demo_store.read(link, demo_store.stamp())
    assert_same(demo_store.load(link), fresh)             # served from memory, nothing written through it
    assert builds == [1, 1] and link.is_symlink()
    table = folder / "deaths.parquet"
    table.unlink()
    table.symlink_to(folder / "flags.parquet")             # a table replaced by a link
    with pytest.raises(demo_store.StoreInvalid):
        demo_store.read(folder, demo_store.stamp())


def test_no_streamlit_cache_persists_to_disk():
    """Streamlit's persist="disk" writes pickles under ~/.streamlit/cache and unpickles them at
    the next start (a corrupted one broke every page, a crafted one ran code): none is left."""
    offenders = []
    for path in [ROOT / "app.py", *sorted((ROOT / "app_support").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "persist":
                offenders.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
    assert not offenders, offenders


def test_app_reads_the_demo_from_the_store(tmp_path, monkeypatch):
    """The app's demo comes from REGISTRY_CACHE_DIR's store: one build, then reads."""
    from app_support import state

    monkeypatch.setenv(demo_store.STORE_ENV, str(tmp_path))
    assert demo_store.directory() == tmp_path / "demo"
    state._demo_dataset.clear()
    try:
        ds = state.demo_dataset()
        assert (tmp_path / "demo" / demo_store.MANIFEST).is_file()
        reg = demo_store.read(tmp_path / "demo", demo_store.stamp()).registry
        pd.testing.assert_frame_equal(ds.records, reg.records, check_exact=True)
    finally:
        state._demo_dataset.clear()


def test_another_disclosure_secret_makes_the_store_stale(store, fresh, monkeypatch):
    """The cubes' key sums depend on the secret: a server started with another one rebuilds the
    store (and its cubes) instead of serving key sums of the old secret."""
    from analytics import disclosure

    folder, builds = store
    before = demo_store.stamp()
    monkeypatch.setenv(disclosure.SECRET_ENV, "another secret of at least thirty-two characters")
    after = demo_store.stamp()
    assert after["disclosure_rule"] != before["disclosure_rule"]
    with pytest.raises(demo_store.StoreInvalid, match="stale"):
        demo_store.read(folder, after)
    got = demo_store.load(folder)
    assert builds == [1, 1]
    from app_support import cache

    want = cache.incidence_cube(got.registry.records, got.registry.population,
                                state_region_table(got.regions), demo_store.CUBE_SITE_COLUMNS[0])
    assert np.array_equal(got.cubes[demo_store.CUBE_SITE_COLUMNS[0]].keys, want.keys)
    assert not np.array_equal(want.keys, fresh[3][demo_store.CUBE_SITE_COLUMNS[0]].keys)


def state_region_table(geo):
    from app_support import state

    return state._region_table(geo)      # noqa: SLF001 - the app's region table


def test_the_app_serves_the_stores_cube_and_builds_one_for_other_records(monkeypatch, tmp_path):
    """cache.cube on the demo is the store's cube (no counting at start); a data set with other
    records never gets it."""
    import dataclasses

    from analytics import schema as S
    from app_support import cache, state

    monkeypatch.setenv(demo_store.STORE_ENV, str(tmp_path))
    state._demo_dataset.clear()
    cache._cube.clear()
    try:
        ds = state.demo_dataset()
        rule = cache.disclosure_rule().fingerprint
        stored = ds.prebuilt_cube(S.SITE_CI5, rule)
        assert stored is not None and cache.cube(ds, S.SITE_CI5) is stored
        other = dataclasses.replace(ds, token="other", registry=dataclasses.replace(ds.registry))
        assert other.prebuilt_cube(S.SITE_CI5, rule) is None
        built = cache.cube(other, S.SITE_CI5)
        assert built is not stored and np.array_equal(built.cases, stored.cases)
        assert ds.prebuilt_cube(S.SITE_CI5, "another rule") is None
    finally:
        state._demo_dataset.clear()
        cache._cube.clear()
