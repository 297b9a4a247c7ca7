"""The embedded demo registry: a SYNTHETIC cancer registry for Azerbaijan, 2010-2024.

The files under ``data/demo/`` are written by ``data/demo/generate.py`` (fixed seed; see
``data/demo/README.md`` for every rule). Geography: Natural Earth admin-1 (public domain);
population: United Nations, DESA, Population Division, World Population Prospects 2024
(CC BY 3.0 IGO), distributed to districts by a synthetic rule. Tumours, deaths and risk
factors are synthetic: no record describes a real person.

Every loader returns a fresh copy in the canonical shapes of :mod:`analytics.schema`.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analytics import schema

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

DEMO_DIR = schema.DATA_DIR / "demo"
DEMO_NAME = "Demo registry (synthetic data) - Azerbaijan"
DEMO_LABEL = "SYNTHETIC demo data: not real patients"

_FILES = {
    "tumours": "tumours.parquet",
    "population": "population.parquet",
    "projection": "population_projection.parquet",
    "deaths": "deaths.parquet",
    "regions": "regions.geojson",
    "risk_factors": "risk_factors.csv",
    "canreg5": "canreg5_export.txt.gz",
    "errors": "deliberate_errors.csv",
    "lifetable": "lifetable.csv",
    "readme": "README.md",
    "generator": "generate.py",
}


def demo_paths() -> dict[str, Path]:
    """Paths of the demo files by role: tumours, population, projection, deaths, regions,
    risk_factors, canreg5 (the same tumours as a CanReg5 export), errors (the deliberate
    data errors, tumour_id -> kind), readme, generator."""
    return {k: DEMO_DIR / v for k, v in _FILES.items()}


def _path(role: str) -> Path:
    p = demo_paths()[role]
    if not p.exists():
        raise FileNotFoundError(
            f"The demo file {p} is missing. Regenerate the demo data with "
            f"`python data/demo/generate.py` from the project folder.")
    return p


@lru_cache(maxsize=None)
def _parquet(role: str) -> pd.DataFrame:
    return pd.read_parquet(_path(role))


def load_demo_tumours() -> pd.DataFrame:
    """The raw demo tumour records, columns ``schema.TUMOUR_COLUMNS`` (no derived columns)."""
    return _parquet("tumours").copy()


def load_demo_population() -> pd.DataFrame:
    """District population 2010-2024 by sex and 5-year age group (``schema.POPULATION_COLUMNS``)."""
    return _parquet("population").copy()


def load_demo_projection() -> pd.DataFrame:
    """National population 2025-2050 (UN WPP 2024 medium variant, single years interpolated),
    region_code ``"AZ"``, ``schema.POPULATION_COLUMNS``."""
    return _parquet("projection").copy()


def load_demo_deaths() -> pd.DataFrame:
    """Cancer deaths 2010-2024 by year, sex, age group, district and ICD-10 3-character code
    (``schema.DEATH_COLUMNS``)."""
    return _parquet("deaths").copy()


@lru_cache(maxsize=None)
def _risk_factors() -> pd.DataFrame:
    df = pd.read_csv(_path("risk_factors"), dtype={"region_code": "str", "indicator": "str",
                                                   "unit": "str", "source": "str"})
    df["year"] = df["year"].astype("Int16")
    return df[schema.RISK_FACTOR_COLUMNS]


def load_demo_risk_factors() -> pd.DataFrame:
    """District risk-factor values (synthetic), long form ``schema.RISK_FACTOR_COLUMNS``."""
    return _risk_factors().copy()


@lru_cache(maxsize=None)
def _regions() -> "gpd.GeoDataFrame":
    import geopandas as gpd

    g = gpd.read_file(_path("regions"))
    g = g.set_crs("EPSG:4326", allow_override=True)
    extra = [c for c in g.columns if c not in schema.REGION_COLUMNS]
    return g[schema.REGION_COLUMNS + extra]


def load_demo_regions() -> "gpd.GeoDataFrame":
    """The 78 admin-1 units (EPSG:4326, exterior rings clockwise) with ``schema.REGION_COLUMNS``
    first, then ``parent_name_en``, ``iso_3166_2``, ``unit_type`` (district/city) and
    ``name_naturalearth`` (the label in the Natural Earth source)."""
    return _regions().copy()


def load_demo_lifetable() -> pd.DataFrame:
    """The demo's population life table for Azerbaijan, 2000-2025 (``year, sex, age, qx``; ages
    0-100, 100 = 100 and over): a Brass relational logit model fitted to published life expectancy
    (method and sources in data/PROVENANCE.md)."""
    return pd.read_csv(_path("lifetable"))


def load_demo_errors() -> pd.DataFrame:
    """The deliberate data errors planted in the demo: ``tumour_id``, ``error`` (kind)."""
    return pd.read_csv(_path("errors"), dtype="str")


def load_demo(*, canreg: bool = False) -> Any:
    """The demo registry through the ingest pipeline.

    Returns ``analytics.pipeline.load_registry(...)`` (a ``RegistryData``) for the demo tumours
    with the demo population and deaths. ``canreg=True`` reads the CanReg5 export of the same
    tumours instead of the Parquet file.
    """
    from analytics.pipeline import load_registry   # here, not at the top: the pipeline is heavier than the paths

    p = demo_paths()
    if canreg:
        # the export is stored gzipped to keep the repository small; the reader takes the bytes
        # as an upload, named like the file CanReg5 would have written
        data = gzip.decompress(_path("canreg5").read_bytes())
        return load_registry(data, population=p["population"], deaths=p["deaths"],
                             name="data/demo/canreg5_export.txt (synthetic demo)")
    return load_registry(_path("tumours"), population=p["population"], deaths=p["deaths"],
                         name="data/demo/tumours.parquet (synthetic demo)")
