"""What a document is built from: the loaded registry, its regions, and where both came from.

:class:`ReportData` holds a registry loaded by :func:`analytics.pipeline.load_registry`, the region
table (codes, names, economic regions), the region polygons when given, the risk factors, and the
files it was read from with their SHA-256 (the reproducibility stamp). :func:`load` reads it from
files (the command line), :func:`demo` gives the synthetic demo; the dashboard builds it from its
session's data set and hands over its shared case cubes, its perturbed cubes and its disclosure
rule, so that public output of a document publishes the same counts as the pages.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import analytics
from analytics import cube as cubes
from analytics import schema as S
from analytics.mortality import INCIDENCE, MORTALITY

log = logging.getLogger(__name__)
REGION_TABLE = [S.REGION, S.REGION_NAME, S.PARENT, S.PARENT_NAME, "parent_name_en"]
ROOT = Path(__file__).resolve().parents[2]
SOFTWARE = "cancer-registry-dashboard"
CHUNK = 1 << 20


class ReportError(ValueError):
    """A document cannot be made from these inputs; the message says what to change."""


@dataclass(frozen=True)
class SourceFile:
    role: str          # extract, population, deaths, regions, risk_factors
    name: str
    sha256: str


@dataclass(eq=False)
class ReportData:
    """The inputs of a document. ``cube_for(site_column, measure)`` may be given to share an existing
    keyed case cube (the dashboard's), ``public_cube_for(site_column, measure)`` its perturbed cube
    (``analytics.disclosure.PerturbedCube``) and ``rule`` the disclosure rule they use; otherwise
    the rule comes from the environment (``DisclosureRule.from_env``: the operator's
    ``REGISTRY_DISCLOSURE_SECRET``) and the cubes are built on first use and kept."""

    registry: Any                                   # analytics.pipeline.RegistryData
    regions: pd.DataFrame                           # REGION_TABLE columns
    name: str                                       # the data set's name as printed
    geo: Any = None                                 # GeoDataFrame of the districts, or None
    risk_factors: pd.DataFrame | None = None
    files: tuple[SourceFile, ...] = ()
    is_demo: bool = False
    lifetable: pd.DataFrame | None = None            # population life table (net survival), or None
    cube_for: Callable[[str, str], cubes.Cube] | None = None
    public_cube_for: Callable[[str, str], Any] | None = None
    rule: Any = None                                 # analytics.disclosure.DisclosureRule, or None: from_env
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def records(self) -> pd.DataFrame:
        return self.registry.records

    @property
    def population(self) -> pd.DataFrame:
        return self.registry.population

    @property
    def deaths(self) -> pd.DataFrame | None:
        return self.registry.deaths

    def disclosure_rule(self, k: int):
        """The rule of public output with threshold ``k``: the dashboard's rule when given, else
        the environment's (the operator's secret, or the demo secret)."""
        base = self.base_rule()
        return base if base.k == k else dataclasses.replace(base, k=k)

    def base_rule(self):
        """The rule whose secret keys the records (the dashboard's, else the environment's)."""
        from analytics import disclosure

        return self.rule if self.rule is not None else self.memo("rule", disclosure.DisclosureRule.from_env)

    def cube(self, site_column: str, measure: str = INCIDENCE) -> cubes.Cube:
        """The cube of new cases (``measure="incidence"``) or deaths (``"mortality"``) by
        ``site_column``, with the sums of the records' (deaths rows') keys (built once)."""
        if self.cube_for is not None:
            return self.cube_for(site_column, measure)

        def make():
            if measure == MORTALITY:
                events = self.mortality_events(site_column).events
            else:
                records = self.records.assign(**{cubes.KEY_SUM: self.base_rule().keys_of(self.records)})
                events = cubes.events_from_records(records, site_column, key=cubes.KEY_SUM)
            return cubes.build_cube(events, self.population, self.parents())
        return self.memo(("cube", site_column, measure), make)

    def public_cube(self, site_column: str, measure: str = INCIDENCE):
        """The perturbed cube of public output (``analytics.disclosure.PerturbedCube`` of
        :meth:`cube` with the rule's secret; for new cases the same as
        ``PerturbedCube.from_records(records, population, parents, site_column, rule)``)."""
        from analytics import disclosure

        if self.public_cube_for is not None:
            return self.public_cube_for(site_column, measure)
        return self.memo(("public_cube", site_column, measure), lambda: disclosure.PerturbedCube(
            self.cube(site_column, measure), self.base_rule()))

    def mortality_events(self, site_column: str):
        """The deaths as counted events (``analytics.mortality``): the deaths table, or deaths derived
        from the records when there is none; with the account of every death read, each deaths
        row keyed for public output (``analytics.tables.death_keys``)."""
        from analytics import mortality, tables

        rule = self.base_rule()

        def make():
            years = self.population[S.YEAR].dropna().astype(int).unique()
            return mortality.mortality_events(self.records, site_column, deaths=self.deaths,
                                              regions=self.regions[S.REGION].astype(str), years=years,
                                              row_keys=lambda d: tables.death_keys(d, rule))
        return self.memo(("mortality_events", site_column), make)

    def memo(self, key, make: Callable):
        """A value derived from the data alone (e.g. region geometry), computed once."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def parents(self) -> dict[str, str]:
        return dict(zip(self.regions[S.REGION].astype(str), self.regions[S.PARENT].astype(str)))

    def years(self) -> tuple[int, int]:
        """First and last year of the population (the years rates can be computed for)."""
        y = self.population[S.YEAR].dropna().astype(int)
        if y.empty:
            raise ReportError("the population table has no years: rates need person-years.")
        return int(y.min()), int(y.max())


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=1)
def software_version() -> str:
    """``<name> <version>, git <commit>`` (``-dirty`` when the working tree has changes), or the
    version alone when the code is not a git checkout."""
    base = f"{SOFTWARE} {analytics.__version__}"
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("no git commit for the stamp: %s", exc)
        return base
    return f"{base}, git {out.stdout.strip()}"


def region_table(geo) -> pd.DataFrame:
    """Region codes and names without geometry (``REGION_TABLE``); English economic-region names
    fall back to the local ones."""
    df = pd.DataFrame(geo.drop(columns="geometry", errors="ignore"))
    for col, default in ((S.REGION_NAME, S.REGION), (S.PARENT, None), (S.PARENT_NAME, S.PARENT)):
        if col not in df:
            df[col] = df[default] if default else ""
    if "parent_name_en" not in df:
        df["parent_name_en"] = df[S.PARENT_NAME]
    return df[REGION_TABLE].astype(str).fillna("").drop_duplicates(S.REGION).reset_index(drop=True)


def _codes_table(records: pd.DataFrame, population: pd.DataFrame | None) -> pd.DataFrame:
    """Without a regions file: every district code is its own name, no economic regions."""
    codes = set(records[S.REGION].dropna().astype(str))
    if population is not None:
        codes |= set(population[S.REGION].dropna().astype(str))
    codes = sorted(codes)
    return pd.DataFrame({S.REGION: codes, S.REGION_NAME: codes, S.PARENT: "", S.PARENT_NAME: "",
                         "parent_name_en": ""})


@functools.lru_cache(maxsize=1)
def demo_files() -> tuple[SourceFile, ...]:
    """The demo's files with their SHA-256 (the files are part of the code: hashed once)."""
    from analytics import demo as demo_data

    paths = demo_data.demo_paths()
    return tuple(SourceFile(role, f"data/demo/{paths[key].name}", sha256_of(paths[key]))
                 for role, key in (("extract", "tumours"), ("population", "population"), ("deaths", "deaths"),
                                   ("regions", "regions"), ("risk_factors", "risk_factors"), ("lifetable", "lifetable")))


def demo() -> ReportData:
    """The synthetic demo registry (data/demo), with its regions and risk factors."""
    from analytics import demo as demo_data

    reg = demo_data.load_demo()
    geo = demo_data.load_demo_regions()
    return ReportData(reg, region_table(geo), demo_data.DEMO_NAME, geo, demo_data.load_demo_risk_factors(),
                      demo_files(), is_demo=True, lifetable=demo_data.load_demo_lifetable())


FILES_INFO = "files"    # RegistryData.info[FILES_INFO]: {role: (file name, sha256)} of an upload


def files_of(registry, fallback_name: str) -> tuple[SourceFile, ...]:
    """The source files recorded with a loaded registry (``info["files"]``), or the extract's name
    alone (its SHA-256 unknown) when none were recorded."""
    info = getattr(registry, "info", {}) or {}
    recorded = info.get(FILES_INFO) or {}
    if recorded:
        return tuple(SourceFile(role, str(name), str(sha)) for role, (name, sha) in recorded.items())
    return (SourceFile("extract", fallback_name, ""),)


def load(data: str | Path, *, population: str | Path, regions: str | Path | None = None,
         deaths: str | Path | None = None, risk_factors: str | Path | None = None,
         lifetable: str | Path | None = None, mapping: str | Path | None = None) -> ReportData:
    """A registry extract and its population (and optional regions, deaths, risk factors, life
    table) read from files as ``python -m analytics ingest`` reads them; unreadable files raise
    :class:`analytics.errors.IngestError` with the reader's sentence. Without a life table the
    fact sheets give observed survival."""
    from analytics.auxiliary import read_regions, read_risk_factors
    from analytics.errors import IngestError
    from analytics.lifetable import read_lifetable
    from analytics.pipeline import load_registry

    given = {"extract": data, "population": population, "regions": regions, "deaths": deaths,
             "risk_factors": risk_factors, "lifetable": lifetable}
    for role, path in given.items():
        if path is not None and not Path(path).is_file():
            raise IngestError(f"the {role.replace('_', ' ')} file was not found. Check the path.", file=str(path))
    reg = load_registry(str(data), mapping=str(mapping) if mapping else None, population=str(population),
                        deaths=str(deaths) if deaths else None)
    geo = read_regions(str(regions)) if regions else None
    rf = read_risk_factors(str(risk_factors)) if risk_factors else None
    table = region_table(geo) if geo is not None else _codes_table(reg.records, reg.population)
    lt = read_lifetable(str(lifetable)) if lifetable else None
    files = tuple(SourceFile(role, Path(p).name, sha256_of(p)) for role, p in given.items() if p is not None)
    return ReportData(reg, table, Path(data).name, geo, rf, files, lifetable=lt)
