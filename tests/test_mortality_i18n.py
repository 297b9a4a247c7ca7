"""The mortality catalogue: every text a page shows for mortality exists in en, az and ru: the
twins of the keys read through ``Filters.tm`` and the keys built from values (reasons, sources,
measures, methods), with the same placeholders as their incidence originals."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from analytics import i18n
from analytics import mortality as M

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"
MAP_MEASURES = ["smoothed", "sir", "smoothed_local", "prob", "significance", "asr", "crude", "cases", "mi_ratio"]


def tm_keys() -> set[str]:
    """Keys passed literally to ``f.tm(...)`` in the pages, plus the map measures' labels."""
    found = set()
    for p in PAGES.glob("*.py"):
        found |= set(re.findall(r"""\.tm\(\s*["']([a-z_]+\.[A-Za-z0-9_.]+)["']""", p.read_text("utf-8")))
    return found | {f"maps.m_{m}" for m in MAP_MEASURES if m != "mi_ratio"} | {"maps.m_significance"}


def twin(key: str) -> str:
    return "mortality." + key.split(".", 1)[1]


def dynamic_keys() -> set[str]:
    keys = {f"mortality.reason.{r}" for r in M.REASONS}
    keys |= {f"mortality.source.{s}" for s in (M.SOURCE_TABLE, M.SOURCE_RECORDS)}
    keys |= {f"mortality.source.note_{s}" for s in (M.SOURCE_TABLE, M.SOURCE_RECORDS)}
    keys |= {f"mortality.account.rows_{s}" for s in (M.SOURCE_TABLE, M.SOURCE_RECORDS)}
    keys |= {f"mortality.account.{s}" for s in (M.USED, M.EXCLUDED)}
    keys |= {f"mortality.measure.{m}" for m in M.MEASURES}
    keys |= {f"mortality.reading.{k}" for k in ("rose", "fell", "stable")}
    keys |= {f"mortality.m_{m}" for m in MAP_MEASURES}
    keys |= {f"mortality.col.{c}" for c in ("cases", "smr", "smr_lower", "smr_upper")}
    for m in ("rates", "source", "mi", "smr", "trend"):
        keys |= {f"mortality.methods.{m}", f"mortality.methods.{m}_text"}
    return keys


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_pages_read_mortality_texts_through_tm():
    keys = tm_keys()
    assert {"app.metric.asr", "app.incidence.by_site_title", "trends.fit_title", "maps.map_title"} <= keys


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_mortality_text_exists_with_the_originals_placeholders(lang):
    i18n.reload_catalogues()
    cat = i18n.catalogue(lang)
    missing = sorted(twin(k) for k in tm_keys() if twin(k) not in cat) + sorted(k for k in dynamic_keys() if k not in cat)
    assert not missing, missing
    for key in tm_keys():
        assert placeholders(cat[twin(key)]) == placeholders(cat[key]), key
    for word in ("rose", "fell", "stable"):
        assert placeholders(cat[f"mortality.reading.{word}"]) == placeholders(cat[f"trends.reading.{word}"])


@pytest.mark.parametrize("lang", ["az", "ru"])
def test_mortality_catalogue_is_translated(lang):
    i18n.reload_catalogues()
    en, other = i18n.catalogue("en"), i18n.catalogue(lang)
    keys = [k for k in en if k.startswith("mortality.")]
    assert keys and all(k in other for k in keys)
    same = [k for k in keys if other[k] == en[k] and re.search(r"[A-Za-z]{4,}", en[k]) and "SMR" not in en[k]]
    assert not same, same
