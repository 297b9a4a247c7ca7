"""The Russian interface is in Russian: on every page (AppTest, the acceptance selection and the
map and risk-factor panels), no Latin-script word appears other than codes (CI5, C44, ICD-10,
SIR, PM2.5, a column name a file must have), units and proper names (authors, software,
journals, the language selector's own names). A data-driven label left in English (a region,
a risk factor, a check id, a table header) fails it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui_text import page_texts

APP = str(Path(__file__).resolve().parents[1] / "app.py")
WORD = re.compile(r"[A-Za-z0-9_À-ʯ'’]+")
LATIN = re.compile(r"[A-Za-zÀ-ʯ]")
LATIN_TERMS = re.compile(r"\bin situ\b|\bet al\b")   # Latin medical and citation terms
# proper names (people, journals, organisations, software, tools), units and formats
PROPER = set("""
Assunção Reis Bray Parkin Breslow Day Jensen Garwood Tiwari Clegg Zou Fay Feuer Dobson Kim Gail Lerman Møller
Bashir Estève Spiegelhalter Clayton Kaldor Moran Cameron Trivedi Anselin Eur Sci Pub Stat Joinpoint Nordpred
CanReg Cancer Tomorrow Excel PowerPoint Parquet GeoJSON GeoPackage Shapefile Chromium Debian English Azərbaycanca
Helicobacter pylori anti dpi px zip Wilson Poisson Bayes Pearson Ferlay Asadzadeh Vostakolaei
Int Med Public Health Biometrics
Brenner Gefeller Clark Altman De Stavola Lancet Allemani Corazziari Quinn Capocaccia Cutler Ederer Chronic Dis
Heise relsurv Pohar Perme Stare Kaplan Meier Am Assoc Greenwood
Thompson Broadfoot Elazar Giessing Hundepool Statistical Disclosure Control Word docx Typst
""".split())
# column names a file must have (quoted in upload help texts), and statistical notation
CODES = set("""year sex age_group population region_code indicator value unit rate count lower upper source df exp se sqrt qx mx
columns codes date_format""".split())
TABLE_PLACES = ("table header", "table cell")


def offending(where: str, text: str) -> list[str]:
    bad = []
    for chunk in LATIN_TERMS.sub(" ", text).split():
        if re.search(r"[A-Za-z0-9]/[A-Za-z0-9]|[A-Za-z]\.[a-z]{2,}\b", chunk):
            continue          # a file name or path
        for w in WORD.findall(chunk):
            if not LATIN.search(w):
                continue
            if "_" in w or any(c.isdigit() for c in w):
                if where in TABLE_PLACES and "_" in w and text.strip() == w:
                    bad.append(w)   # a header or cell must be words, not a bare identifier
                continue            # a code (europe_2013, C44, PM2)
            if len(w) == 1 or sum(c.isupper() for c in w) >= 2:
                continue            # a symbol (p, k, N) or an acronym (SIR, CI, HBsAg)
            if w in PROPER or (w in CODES and where not in TABLE_PLACES):
                continue
            bad.append(w)
    return bad


from app_support.navigation import PAGES as NAV   # every page the navigation lists

PAGES = [(stem, {}) for stem, _ in NAV if (Path(APP).parent / "pages" / f"{stem}.py").exists()] + [
    ("quality", {"q_by": "district"}), ("trends", {"tr_by": "region"}), ("maps", {"map_panel": "lisa"}),
    ("maps", {"map_panel": "profile"}), ("overview", {"measure": "mortality"}), ("maps", {"measure": "mortality"})]


@pytest.mark.slow
def test_russian_interface_has_no_latin_words_but_codes_units_and_names():
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in dict(lang="ru", sex="female", site="Stomach", er="ABS", y0=2015, std="europe_2013").items():
        at.query_params[k] = str(v)
    at.run()
    problems = {}
    for page, params in PAGES:
        for k, v in params.items():
            if k == "measure":       # a shared filter: its canonical value
                at.session_state["_filters"] = {**at.session_state["_filters"], k: v}
                continue
            at.session_state["_page_params"] = {**at.session_state["_page_params"], k: v} \
                if "_page_params" in at.session_state else {k: v}
            at.session_state[f"p_{k}"] = v
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        for where, text in page_texts(at):
            bad = offending(where, text)
            if bad:
                problems.setdefault(f"{page} {params}", set()).add(f"{where}: {', '.join(bad)} in {text[:80]!r}")
    assert not problems, "\n".join(f"{p}:\n  " + "\n  ".join(sorted(v)) for p, v in problems.items())


def test_the_check_itself_flags_english_words():
    assert offending("caption", "Сглаженный SIR (эмпирический Байес), Tiwari, CI5, PM2.5") == []
    assert offending("caption", "Absheron Economic Region") == ["Absheron", "Economic", "Region"]
    assert offending("table header", "n_lost") == ["n_lost"] and offending("table header", "site_ci5") == ["site_ci5"]
    assert offending("caption", "мировой стандарт (world_segi1960); файл data/demo/tumours.parquet; опухоль in situ") == []
