"""Translation catalogues: every key the code uses exists in every language, the languages agree
on keys and placeholders, Azerbaijani is in Latin script, numbers follow the locales."""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pandas as pd
import pytest

from analytics import i18n
from analytics.i18n import (LANGUAGES, format_number, keys_used_in, sex_label, site_key, site_label,
                            standard_label, t)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "app.py", ROOT / "pages", ROOT / "app_support", ROOT / "analytics"]
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def _files() -> dict[str, dict[str, Path]]:
    """namespace -> lang -> path"""
    out: dict[str, dict[str, Path]] = {}
    for lang in LANGUAGES:
        for p in sorted((i18n.I18N_DIR / lang).glob("*.json")):
            out.setdefault(p.stem, {})[lang] = p
    return out


def _placeholders(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name is not None}


@pytest.fixture(autouse=True)
def _fresh():
    i18n.reload_catalogues()
    yield


def test_every_key_used_in_code_is_in_every_catalogue():
    used = keys_used_in(SOURCES)
    assert "charts.top_sites_title" in used          # the scanner sees the chart builders' keys
    problems = []
    for lang in LANGUAGES:
        cat = i18n.catalogue(lang)
        for key, places in sorted(used.items()):
            if key not in cat:
                problems.append(f"{lang}: {key} (used at {places[0]})")
    assert not problems, "catalogue entries missing:\n" + "\n".join(problems)


def test_scanner_finds_literal_keys_and_ignores_others(tmp_path):
    src = tmp_path / "page.py"
    src.write_text('x = t("common.male", lang)\ny = i18n.t(\'charts.no_data\')\n'
                   'z = t(f"sex.{s}")\nw = st.title("Overview")\nv = t("nodot")\n'
                   '"""Call t("doc.example") like this."""\n# t("comment.key")\n', encoding="utf-8")
    found = keys_used_in([tmp_path])
    assert set(found) == {"common.male", "charts.no_data"}
    assert found["charts.no_data"][0].endswith("page.py:2")


def test_every_language_has_the_same_files_and_keys():
    for namespace, by_lang in _files().items():
        assert set(by_lang) == set(LANGUAGES), f"{namespace}.json missing for {set(LANGUAGES) - set(by_lang)}"
        keys = {lang: set(i18n.read_catalogue_file(p)) for lang, p in by_lang.items()}
        for lang in LANGUAGES:
            extra = keys[lang] - keys["en"]
            missing = keys["en"] - keys[lang]
            assert not missing and not extra, f"{lang}/{namespace}.json: missing {sorted(missing)}, extra {sorted(extra)}"


def test_keys_stay_in_their_namespace():
    namespaces = set(_files())
    for namespace, by_lang in _files().items():
        for lang, path in by_lang.items():
            raw = json.loads(path.read_text(encoding="utf-8"))
            for key in raw:
                head = key.split(".")[0]
                assert not (head in namespaces and head != namespace), f"{path}: key {key!r} belongs to {head}.json"


def test_placeholders_agree_across_languages_and_templates_format():
    en = i18n.catalogue("en")
    for lang in LANGUAGES:
        cat = i18n.catalogue(lang)
        for key, text in cat.items():
            names = _placeholders(text)
            assert names == _placeholders(en[key]), f"{lang}: {key} placeholders {names} != en {_placeholders(en[key])}"
            text.format(**{n: 1 for n in names})     # a stray brace raises here


def test_azerbaijani_is_latin_and_russian_is_cyrillic():
    for key, text in i18n.catalogue("az").items():
        assert not CYRILLIC.search(text), f"az {key} has Cyrillic letters: {text}"
    az_sites = [v for k, v in i18n.catalogue("az").items() if k.startswith("sites.")]
    assert any("ə" in v for v in az_sites)           # Azerbaijani Latin alphabet, not transliterated English
    for key, text in i18n.catalogue("ru").items():
        if key.startswith("sites.") and key not in ("sites.all_sites_but_c44",):
            assert CYRILLIC.search(text), f"ru {key} is not translated: {text}"


def test_every_site_group_of_both_lists_is_translated():
    from analytics import sites
    groups = pd.read_csv(i18n.DATA_DIR / "reference" / "site_groups.csv")
    labels = set(groups["label"])
    for scheme in ("ci5_detailed", "globocan"):           # incl. the groups analytics.sites adds (MPD, MDS, totals)
        labels |= set(sites.site_table(scheme)["label"])
    for label in sorted(labels):
        for lang in LANGUAGES:
            assert site_key(label) in i18n.catalogue(lang), f"{lang}: no translation for site {label!r}"
        assert site_label(label, "en") == label
    assert site_label("Lung (incl. trachea and bronchus)", "ru") == "Лёгкое (включая трахею и бронхи)"
    assert site_label("Breast", "az") == "Süd vəzisi"
    assert site_label("My own grouping", "ru") == "My own grouping"   # unknown labels pass through


def test_t_formats_falls_back_and_records_missing():
    assert t("charts.top_sites_title", "en", n=10) == "The 10 sites with the highest rates"
    assert t("charts.top_sites_title", "ru", n=10).startswith("10 ")
    assert t("common.male", "xx") == "Men"             # unknown language -> English
    assert t("no_such.key", "ru") == "no_such.key"
    assert ("ru", "no_such.key") in i18n.missing_keys()
    assert sex_label(1, "ru") == "Мужчины" and sex_label("female", "az") == "Qadınlar"
    assert standard_label("segi_1960_world_18grp_per100k", "en") == "world standard"
    assert standard_label("esp_2013_19grp_per100k", "ru") == "европейский стандарт 2013"
    assert standard_label("who_2000_2025_world_18grp_published_per100k", "en") == "WHO world standard"


def test_relative_and_nested_keys_are_read_as_full_keys(tmp_path):
    p = tmp_path / "demo.json"
    p.write_text(json.dumps({"title": "A", "demo.sub": "B", "group": {"x": "C"}}), encoding="utf-8")
    assert i18n.read_catalogue_file(p) == {"demo.title": "A", "demo.sub": "B", "demo.group.x": "C"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": "b",}', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        i18n.read_catalogue_file(bad)


def test_number_format_follows_glibc_locales():
    # LC_NUMERIC of glibc's az_AZ (decimal ",", thousands "."), ru_RU ("," and U+202F), en_US.
    assert format_number(45.2, "en") == "45.2"
    assert format_number(45.25, "ru", 2) == "45,25"
    assert format_number(100000, "en", 0) == "100,000"
    assert format_number(100000, "az", 0) == "100.000"
    assert format_number(1234567.891, "ru", 2) == "1\u202f234\u202f567,89"
    assert format_number(float("nan"), "ru") == "\u2013"
