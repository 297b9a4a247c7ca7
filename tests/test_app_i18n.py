"""Every app.* key the app uses exists in the English, Azerbaijani and Russian catalogues,
with the same placeholders, and the translations are not English copies."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analytics.i18n import I18N_DIR, keys_used_in
from app_support import filters

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "app.py", ROOT / "app_support"] + [ROOT / "pages" / f"{p}.py" for p in
                                                     ("overview", "incidence", "quality", "data", "methods")]


def catalogue(lang: str) -> dict[str, str]:
    return json.loads((I18N_DIR / lang / "app.json").read_text("utf-8"))


def used_keys() -> set[str]:
    keys = {k for k in keys_used_in(FILES) if k.startswith("app.")}
    # f.t("app....") calls and keys built from values (f"app.sex.{s}" ...)
    pattern = re.compile(r"""\.t\(\s*["'](app\.[A-Za-z0-9_.]+)["']""")
    for f in FILES:
        for p in ([f] if f.is_file() else f.rglob("*.py")):
            keys |= set(pattern.findall(p.read_text("utf-8")))
    return keys


def dynamic_keys() -> set[str]:
    from analytics.rates import DSR_METHODS

    pages = ["overview", "incidence", "quality", "data", "methods", "trends", "prevalence", "projections",
             "maps", "risk_factors"]
    keys = {f"app.page.{p}" for p in pages}
    keys |= {f"app.sex.{s}" for s in filters.SEXES} | {f"app.scheme.{s}" for s in filters.SCHEMES}
    keys |= {f"app.ci.{m}" for m in DSR_METHODS} | {f"app.theme.{v}" for v in filters.THEMES}
    keys |= {f"app.quality.by_{v}" for v in ("site", "er", "district", "year")}
    keys |= {f"app.methods.{m}" for m in ("crude", "age_specific", "asr", "cumrisk", "sir", "apc", "prevalence",
                                          "quality", "disclosure")}
    keys |= {f"app.methods.{m}_text" for m in ("crude", "age_specific", "asr", "cumrisk", "sir", "apc",
                                               "prevalence", "quality", "disclosure")}
    return keys


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
def test_catalogue_has_every_key_the_app_uses(lang):
    cat = catalogue(lang)
    missing = sorted((used_keys() | dynamic_keys()) - set(cat))
    assert not missing, f"{lang}: {missing}"


@pytest.mark.parametrize("lang", ["az", "ru"])
def test_translations_have_the_same_placeholders_and_are_translated(lang):
    en, other = catalogue("en"), catalogue(lang)
    assert set(en) == set(other)
    same = [k for k in en if en[k] == other[k] and re.search(r"[a-z]{4,}", en[k])
            and k not in ("app.scheme.ci5", "app.scheme.globocan", "app.ci.dobson", "app.dl.excel", "app.overview.subtitle")]
    assert not same, same
    for k in en:
        assert set(re.findall(r"\{(\w+)\}", en[k])) == set(re.findall(r"\{(\w+)\}", other[k])), k


ENGLISH = re.compile(r"\b(rate|rates|cases|case|Men|Women|sites?|Age|Year|Population|standard|per|Both|"
                     r"Overview|Incidence|registry|synthetic|Lung|Breast|Stomach)\b", re.I)


def _texts_of_figures(at) -> list[str]:
    import json

    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        lay = spec["layout"]
        out.append(str(lay.get("title", {}).get("text", "")))
        for ax in [k for k in lay if k.startswith(("xaxis", "yaxis"))]:
            out.append(str(lay[ax].get("title", {}).get("text", "")))
        out += [str(tr.get("name", "")) for tr in spec["data"] if tr.get("showlegend", True) is not False]
    return [s for s in out if s]


@pytest.mark.parametrize("lang", ["az", "ru"])
@pytest.mark.parametrize("page", ["overview", "incidence"])
def test_no_english_left_in_titles_metrics_axes_and_tables(lang, page):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = lang
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    shown = [at.title[0].value] + [c.value for c in at.caption] + [m.label for m in at.metric]
    shown += [s.value for s in at.subheader] + _texts_of_figures(at)
    assert len(_texts_of_figures(at)) >= 6
    leftovers = [s for s in shown if ENGLISH.search(s.replace("<br>", " "))]
    assert not leftovers, leftovers
    # tables: sexes and site names in words of the language, not codes or English labels
    from analytics.i18n import sex_label, site_label

    values = set()
    for d in at.dataframe:
        df = d.value
        for col in ("sex", "site"):
            if col in getattr(df, "columns", []):
                values |= set(df[col].astype(str))
    assert sex_label(1, lang) in values and site_label("Lung (incl. trachea and bronchus)", lang) in values
    assert not {"1", "2", "Men", "Women", "Lung (incl. trachea and bronchus)"} & values


@pytest.mark.parametrize("lang", ["az", "ru"])
def test_quality_page_flags_and_reconciliation_in_the_language(lang):
    from streamlit.testing.v1 import AppTest

    from analytics import quality

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/quality.py").run()
    assert not at.exception
    flags = next(d.value for d in at.dataframe if {"check", "message"} <= set(d.value.columns))
    assert len(flags) > 0 and "tumour_id" not in flags.columns          # never identifiers
    for check, message in zip(flags["check"], flags["message"]):
        assert message == quality.check_message(check, lang)
    recon = next(d.value for d in at.dataframe if {"reason", "description"} <= set(d.value.columns))
    for reason, text in zip(recon["reason"], recon["description"]):
        assert text.startswith(quality.reason_description(reason, lang))
    # one English sentence of the ingest must not survive
    assert not any(ENGLISH.search(m) for m in flags["message"].head(50))
