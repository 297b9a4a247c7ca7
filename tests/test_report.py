"""The annual report and fact sheets (analytics.report): the generated PDF (read back with pypdf)
and Word files (python-docx) have every section, the numbers analytics computes for the same
selection (aggregated here with plain pandas, independently of the cube), withheld cells in public
output, embedded fonts, Azerbaijani and Cyrillic text; the command line. Each document is built
once per module, on short periods."""
from __future__ import annotations

import functools
import io
import re

import numpy as np
import pandas as pd
import pytest
from docx import Document as read_docx
from pypdf import PdfReader

from analytics import presets, rates, tables
from analytics import schema as S
from analytics.cube import Selection
from analytics.i18n import format_number, site_label, t
from analytics.report import ReportError, ReportOptions, SECTIONS, build_factsheet, build_report
from analytics.report import data as report_data

K = tables.PUBLIC_K
SMALL = re.compile(r"^\d+$")
AZ_LETTERS = "əğıöüçş"
LUNG = "Lung (incl. trachea and bronchus)"


# --- documents, built once -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    return report_data.demo()


@pytest.fixture(scope="module")
def en_pdf(demo):
    return build_report(demo, ReportOptions(period=(2023, 2024), lang="en"))


@pytest.fixture(scope="module")
def en_docx(demo):
    return build_report(demo, ReportOptions(period=(2023, 2024), lang="en", format="docx", figures=False))


@pytest.fixture(scope="module")
def public_docx(demo):
    return build_report(demo, ReportOptions(period=(2024, 2024), format="docx", public=True, figures=False,
                                            sections=("summary", "incidence_tables", "top_sites", "mortality",
                                                      "prevalence", "regions", "quality", "methods")))


@pytest.fixture(scope="module")
def public_pdf(demo):
    return build_report(demo, ReportOptions(period=(2024, 2024), public=True,
                                            sections=("incidence_tables", "top_sites", "methods")))


@pytest.fixture(scope="module")
def az_pdf(demo):
    return build_report(demo, ReportOptions(period=(2024, 2024), lang="az", sections=("summary", "top_sites")))


@pytest.fixture(scope="module")
def ru_sheets(demo):
    return build_factsheet(demo, ReportOptions(period=(2020, 2024), lang="ru"), sites=["C50"], regions=["AZE-1676"])


def pdf_text(built) -> str:
    return "\n".join(page_texts(built.content))


@functools.cache
def page_texts(content: bytes) -> tuple[str, ...]:
    """The text of each page of a PDF (pypdf): each document's text is extracted once for the
    module's tests (en_pdf's was extracted seven times, ~2 s each)."""
    return tuple(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def docx_tables(built) -> list[list[list[str]]]:
    return _docx_tables(built.content)


@functools.cache
def _docx_tables(content: bytes) -> list[list[list[str]]]:
    """The cell texts of every table of a Word file, read once per document (~0.26 s each; the
    tests read, never change, what this returns)."""
    doc = read_docx(io.BytesIO(content))
    return [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables]


def docx_table(built, key: str) -> list[list[str]]:
    """The Word table written from the model's table ``key`` (tables with the same header, such as
    the CI5 tables of men and women, are told apart by their order)."""
    from analytics.report.model import Table

    block = built.document.tables()[key]
    same = [b for b in built.document.blocks() if isinstance(b, Table) and b.header == block.header]
    hits = [tab for tab in docx_tables(built) if tab and tab[0] == block.header]
    assert len(hits) == len(same), (len(hits), len(same))
    return hits[next(i for i, b in enumerate(same) if b is block)]


# --- independent numbers (plain pandas on the records, then analytics.rates) -----------------------
def rate_input(d, years, sexes, site=None, by=None):
    r = d.records
    r = r[r[S.INCLUDED].fillna(False).astype(bool) & r[S.YEAR].between(*years) & r[S.SEX].isin(sexes)]
    if site is not None:
        r = r[r[S.SITE_CI5] == site]
    keys = ([by] if by else []) + [S.AGE_GROUP]
    cases = r[r[S.AGE_GROUP].notna()].groupby(keys, observed=True).size().rename("count")
    p = d.population
    p = p[p[S.YEAR].between(*years) & p[S.SEX].isin([s for s in sexes if s in (1, 2)])]
    pop = p.groupby(S.AGE_GROUP, observed=True)[S.POPULATION].sum().reset_index()
    if by:      # every site over the same person-years (sites without a case in an age group: 0)
        pop = pop.merge(pd.DataFrame({by: r[by].dropna().astype(str).unique()}), how="cross")
    data = pop.merge(cases.reset_index().astype({S.AGE_GROUP: str} | ({by: str} if by else {})),
                     on=keys, how="left").fillna({"count": 0})
    unknown = r[r[S.AGE_GROUP].isna()]
    if len(unknown):
        u = (unknown.groupby(by, observed=True).size().rename("count").reset_index() if by
             else pd.DataFrame({"count": [len(unknown)]}))
        data = pd.concat([data, u.assign(**{S.AGE_GROUP: None, S.POPULATION: np.nan})], ignore_index=True)
    return data


def published_input(d, years, sex, site=None, by=None):
    """The published (cell-key perturbed) rate input of one year, one sex and the whole country,
    computed from the records without the cube: each base cell (age group, or unknown age; by
    ``by`` when given) publishes its count plus the noise of the rule's perturbation table at
    (count, sum of its records' keys) (docs/methods.md 8.1)."""
    from analytics.disclosure import DisclosureRule

    assert years[0] == years[1]       # one year: a cell is one base cell
    rule = DisclosureRule.from_env(k=K)
    r = d.records.assign(_key=rule.keys_of(d.records))
    r = r[r[S.INCLUDED].fillna(False).astype(bool) & r[S.YEAR].between(*years) & r[S.REGION].notna()
          & (r[S.SEX] == sex)]
    if site is not None:
        r = r[r[S.SITE_CI5] == site]
    keys = ([by] if by else []) + ["age"]
    cells = (r.assign(age=r[S.AGE_GROUP].astype(object).fillna("unknown"))
             .groupby(keys, observed=True).agg(n=("_key", "size"), key=("_key", "sum")).reset_index())
    cells["count"] = rule.noisy(cells["n"].to_numpy(), cells["key"].to_numpy())
    p = d.population
    pop = p[p[S.YEAR].between(*years) & (p[S.SEX] == sex)].groupby(S.AGE_GROUP, observed=True)[S.POPULATION].sum()
    pop = pop.rename(index=str)
    cells[S.AGE_GROUP] = cells["age"].where(cells["age"] != "unknown", None)
    cells[S.POPULATION] = cells[S.AGE_GROUP].map(pop).astype(float)
    if by is None:        # age groups without a case: 0 over their person-years
        empty = pd.DataFrame({S.AGE_GROUP: [a for a in pop.index if a not in set(cells[S.AGE_GROUP])]})
        cells = pd.concat([cells, empty.assign(count=0, **{S.POPULATION: empty[S.AGE_GROUP].map(pop).astype(float)})],
                          ignore_index=True)
    return cells[([by] if by else []) + [S.AGE_GROUP, "count", S.POPULATION]]


def expected(d, years, sex):
    data = rate_input(d, years, (sex,))
    asr = rates.dsr(data, standard="world_segi1960", method="tiwari", conf=0.95).iloc[0]
    risk = rates.cumulative_risk(data, age=S.AGE_GROUP, method="tiwari", conf=0.95).iloc[0]
    return asr, risk


def leading_site(d, years, sex):
    """The site with the highest ASR for the sex and its number of cases, counted from the records."""
    data = rate_input(d, years, (sex,), by=S.SITE_CI5)
    by = rates.dsr(data, standard="world_segi1960", by=[S.SITE_CI5], method="tiwari")
    by = by[~by[S.SITE_CI5].isin(tables.NOT_RANKED)].sort_values("value", ascending=False)
    site = str(by[S.SITE_CI5].iloc[0])
    r = d.records
    n = int((r[S.INCLUDED].fillna(False).astype(bool) & r[S.YEAR].between(*years) & (r[S.SEX] == sex)
             & (r[S.SITE_CI5] == site)).sum())
    return site, n


# --- structure ----------------------------------------------------------------------------------------
def test_pdf_has_every_section_in_order_and_a_sensible_length(en_pdf):
    reader = PdfReader(io.BytesIO(en_pdf.content))
    assert 12 <= len(reader.pages) <= 40
    text = flat(pdf_text(en_pdf))
    places = [text.find(f"{n}. {t(f'report.section.{s}', 'en')}", text.find(t("report.stamp.title", "en")))
              for n, s in enumerate(SECTIONS, start=1)]
    assert all(p > 0 for p in places) and places == sorted(places), dict(zip(SECTIONS, places))
    assert t("report.stamp.title", "en") in text and t("report.contents", "en") in text


def test_pdf_charts_are_vector_and_fonts_embedded(en_pdf):
    reader = PdfReader(io.BytesIO(en_pdf.content))
    fonts, images = set(), 0

    def walk(res):
        nonlocal images
        res = res.get_object() if res is not None else {}
        for f in (res.get("/Font") or {}).values():
            f = f.get_object()
            desc = (f["/DescendantFonts"][0].get_object() if "/DescendantFonts" in f else f).get("/FontDescriptor")
            fonts.add((str(f["/BaseFont"]), desc is not None and any(k in desc.get_object() for k in
                                                                     ("/FontFile", "/FontFile2", "/FontFile3"))))
        for x in (res.get("/XObject") or {}).values():
            x = x.get_object()
            images += x.get("/Subtype") == "/Image"
            if "/Resources" in x:
                walk(x["/Resources"])
    for page in reader.pages:
        walk(page.get("/Resources"))
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert {name.split("+")[-1] for name, _ in fonts} <= {"LiberationSans", "LiberationSans-Bold",
                                                         "LiberationSans-Italic", "LiberationSans-BoldItalic"}
    assert images == 0                     # every chart drawn as paths and text, no raster image
    figures = en_pdf.document.figures()
    assert len(figures) >= 6 and all(f.svg and f.svg.lstrip().startswith(b"<svg") for f in figures)
    # a chart's own text is real text in the PDF: the top-10 chart's axis title
    assert "Age-standardised rate (world standard) per 100,000" in flat(pdf_text(en_pdf))


def test_pdf_tables_continue_over_pages_with_their_header_repeated(en_pdf):
    """The district table (78 districts) runs over several pages; each page repeats its header."""
    block = en_pdf.document.tables()["districts"]
    head = flat(" ".join(block.header[:3]))
    pages = [flat(p) for p in page_texts(en_pdf.content)]
    first_row, last_row = block.rows[0][0], block.rows[-1][0]
    start = next(i for i, p in enumerate(pages) if first_row in p and head in p)
    end = next(i for i in range(start, len(pages)) if last_row in pages[i])
    assert end > start and all(head in pages[i] for i in range(start, end + 1))


def test_title_page_and_properties_carry_the_reproducibility_stamp(en_pdf, en_docx, demo):
    extract = next(f for f in demo.files if f.role == "extract")
    assert extract.sha256 == report_data.sha256_of(report_data.ROOT / "data" / "demo" / "tumours.parquet")
    first = flat(page_texts(en_pdf.content)[0])
    assert extract.sha256 in first.replace(" ", "") and "tumours.parquet" in first
    reg = demo.registry
    assert f"{reg.n_read:,} read, {reg.n_used:,} used, {reg.n_excluded:,} excluded" in first
    assert report_data.software_version() in first and "period=2023-2024" in first
    meta = PdfReader(io.BytesIO(en_pdf.content)).metadata
    assert f"sha256:{extract.sha256}" in meta["/Keywords"] and extract.sha256 in meta["/Subject"]
    props = read_docx(io.BytesIO(en_docx.content)).core_properties
    assert extract.sha256 in props.comments and f"{reg.n_used} records used" in props.comments
    assert props.title == t("report.title", "en", period="2023–2024") and props.language == "en"


def test_docx_uses_word_styles_real_tables_and_repeated_headers(en_docx):
    doc = read_docx(io.BytesIO(en_docx.content))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    for n, s in enumerate(SECTIONS, start=1):
        assert f"{n}. {t(f'report.section.{s}', 'en')}" in headings
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert captions[0].startswith("Table 1. ") and any(c.startswith("Figure ") for c in captions)
    assert len(doc.tables) >= 10
    ci5 = next(tab for tab in doc.tables if tab.rows[0].cells[0].text == t("report.ci5.site", "en"))
    assert ci5.rows[0]._tr.trPr.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") is not None
    landscape = [s for s in doc.sections if s.page_width > s.page_height]
    assert landscape                       # the CI5 tables are on landscape pages
    # without charts the document says where each would be
    assert sum(p.text == t("report.figures_off", "en") for p in doc.paragraphs) == len(en_docx.document.figures())


# --- the numbers ------------------------------------------------------------------------------------
def test_key_figures_equal_analytics_for_the_same_selection(en_pdf, en_docx, demo):
    years = (2023, 2024)
    table = docx_table(en_docx, "key_figures")
    rows = {r[0]: r[1:] for r in table[1:]}
    text = flat(pdf_text(en_pdf))
    for col, sex in enumerate((1, 2)):
        asr, risk = expected(demo, years, sex)
        assert rows[t("report.kf.asr_long", "en", standard="world standard")][col] == format_number(asr["value"], "en", 1)
        assert rows[t("report.kf.cum_risk_long", "en")][col] == presets.fmt(risk["cum_risk"], "percent", "en")
        assert rows[t("report.kf.cases", "en")][col] == format_number(asr["count"], "en", 0)
    asr_m, risk_m = expected(demo, years, 1)
    asr_f, risk_f = expected(demo, years, 2)
    assert (f"{format_number(asr_m['value'], 'en', 1)} {format_number(asr_f['value'], 'en', 1)}" in text)
    assert (f"{presets.fmt(risk_m['cum_risk'], 'percent', 'en')} {presets.fmt(risk_f['cum_risk'], 'percent', 'en')}"
            in text)


def test_ci5_tables_print_the_leading_sites_cases_and_the_all_sites_asr(en_pdf, en_docx, demo):
    years = (2023, 2024)
    for sex in (1, 2):
        site, n = leading_site(demo, years, sex)
        block = en_docx.document.tables()[f"ci5_{sex}"]
        table = docx_table(en_docx, f"ci5_{sex}")
        row = next(r for r in table if r[0] == site_label(site, "en"))
        assert row[1] == format_number(n, "en", 0)
        total = next(r for r in table if r[0] == site_label("All sites", "en"))
        data = rate_input(demo, years, (sex,))
        ci5_asr = rates.dsr(data, standard="world_segi1960", method="normal", unknown_age="redistribute").iloc[0]
        cum = rates.cumulative_risk(data, age=S.AGE_GROUP, max_age=74, unknown_age="redistribute").iloc[0]
        assert total[block.header.index("ASR (W)")] == format_number(round(ci5_asr["value"], 2), "en", 1)
        assert total[block.header.index(t("report.ci5.cum_risk", "en"))] == format_number(round(cum["cum_risk"], 2), "en", 2)
        # the leading site leads the top-10 table too, with the same count
        top = docx_table(en_docx, "top_sites")
        first = next(r for r in top[1:] if r[0] == t(f"app.sex.{'male' if sex == 1 else 'female'}", "en") and r[1] == "1")
        assert first[2:4] == [site_label(site, "en"), format_number(n, "en", 0)]
        assert f"{site_label(site, 'en')} {format_number(n, 'en', 0)}" in flat(pdf_text(en_pdf))


# --- public output ------------------------------------------------------------------------------------
COUNT_HEADERS = ({t(k, "en") for k in ("report.ci5.all_ages", "report.ci5.unknown", "report.col.cases",
                                        "report.col.records", "mortality.col.deaths")}
                 | {a.replace("-", "–") for a in S.AGE_GROUPS}
                 | {f"{t(f'common.{s}', 'en')}: {t(f'report.col.{c}', 'en')}" for s in ("male", "female")
                    for c in ("deaths", "cases")}
                 | {t(f"trends.dur.{d}", "en") for d in ("1", "3", "5", "all")})


def test_public_docx_prints_the_published_counts_and_withholds_small_ones(public_docx, demo):
    """Public output: the CI5 cells are the published counts of the cell-key rule (computed here from
    the records' keys), "<k" below k; no count below k anywhere; the rule printed in the methods."""
    from analytics.disclosure import DisclosureRule

    block = public_docx.document.tables()["ci5_1"]
    printed = {r[0]: r for r in docx_table(public_docx, "ci5_1")[1:]}
    cells = published_input(demo, (2024, 2024), 1, by=S.SITE_CI5)
    small = 0
    for (site, age), c in cells.set_index([S.SITE_CI5, S.AGE_GROUP])["count"].items():
        if not isinstance(age, str) or site_label(site, "en") not in printed:
            continue
        cell = printed[site_label(site, "en")][block.header.index(age.replace("-", "–"))]
        if 0 < c < K:
            assert cell == f"<{K}", (site, age, c, cell)
            small += 1
        else:
            assert cell == format_number(c, "en", 0), (site, age, c, cell)
    assert small > 30                       # the demo's one year has many small cells
    # perturbed: published cells differ from the true counts (the internal table)
    exact = tables.ci5_table(demo.cube(S.SITE_CI5), Selection(years=(2024, 2024)), 1, standard="world_segi1960")
    perturbed = 0
    for _, r in exact.iterrows():
        row = printed.get(site_label(r["site"], "en"))
        if row is not None:
            perturbed += sum(row[block.header.index(a.replace("-", "–"))] not in (f"<{K}", format_number(r[a], "en", 0))
                             for a in S.AGE_GROUPS)
    assert perturbed > 10
    shown, columns = 0, 0
    for table in docx_tables(public_docx):
        for j, head in enumerate(table[0]):
            if head not in COUNT_HEADERS:
                continue
            columns += 1
            for row in table[1:]:
                cell = row[j].replace(",", "")
                shown += cell == f"<{K}"
                assert cell != "x", (head, row)                  # no complementary suppression
                assert not (SMALL.match(cell) and 0 < int(cell) < K), (head, row)
    assert shown >= small and columns >= 30   # CI5, top sites, deaths, prevalence, regions, quality
    methods = " ".join(p.text for p in read_docx(io.BytesIO(public_docx.content)).paragraphs)
    rule = DisclosureRule.from_env(k=K)
    assert rule.text("en") in methods and rule.fingerprint in methods
    assert "Thompson G, Broadfoot S, Elazar D" in methods and "Hundepool" in methods
    assert "complementary" not in methods.lower()


def test_public_key_figures_are_computed_from_the_published_counts(public_docx, demo):
    """The key figures of public output: the all-sites ASR and cumulative risk of each sex from the
    published counts (rates.dsr on the perturbed cells), the leading site's published cases."""
    table = docx_table(public_docx, "key_figures")
    rows = {r[0]: r[1:] for r in table[1:]}
    for col, sex in enumerate((1, 2)):
        data = published_input(demo, (2024, 2024), sex)
        asr = rates.dsr(data, standard="world_segi1960", method="tiwari", conf=0.95).iloc[0]
        risk = rates.cumulative_risk(data, age=S.AGE_GROUP, method="tiwari", conf=0.95).iloc[0]
        assert rows[t("report.kf.asr_long", "en", standard="world standard")][col] == format_number(asr["value"], "en", 1)
        assert rows[t("report.kf.cum_risk_long", "en")][col] == presets.fmt(risk["cum_risk"], "percent", "en")
        assert rows[t("report.kf.cases", "en")][col] == format_number(asr["count"], "en", 0)
        # the leading site (highest ASR from the published counts) and its published cases
        by = published_input(demo, (2024, 2024), sex, by=S.SITE_CI5)
        pop = data[data[S.AGE_GROUP].notna()][[S.AGE_GROUP, S.POPULATION]]
        full = by[[S.SITE_CI5]].drop_duplicates().merge(pop, how="cross").merge(
            by[by[S.AGE_GROUP].notna()].drop(columns=S.POPULATION), on=[S.SITE_CI5, S.AGE_GROUP],
            how="left").fillna({"count": 0})
        full = pd.concat([full, by[by[S.AGE_GROUP].isna()]], ignore_index=True)
        ranked = rates.dsr(full, standard="world_segi1960", by=[S.SITE_CI5], method="tiwari")
        ranked = ranked[~ranked[S.SITE_CI5].isin(tables.NOT_RANKED)]
        lead = ranked.sort_values("value", ascending=False).iloc[0]
        assert lead["count"] >= K
        ci5 = docx_table(public_docx, f"ci5_{sex}")
        assert next(r for r in ci5 if r[0] == site_label(lead[S.SITE_CI5], "en"))[1] == format_number(
            lead["count"], "en", 0)
        top = docx_table(public_docx, "top_sites")
        first = next(r for r in top[1:] if r[0] == t(f"app.sex.{'male' if sex == 1 else 'female'}", "en") and r[1] == "1")
        assert first[2:4] == [site_label(lead[S.SITE_CI5], "en"), format_number(lead["count"], "en", 0)]


def test_public_pdf_rows_carry_no_small_count(public_pdf, demo):
    text = pdf_text(public_pdf)
    raw = tables.ci5_table(demo.cube(S.SITE_CI5), Selection(years=(2024, 2024)), 2, standard="world_segi1960")
    checked = 0
    lines = text.splitlines()
    for _, r in raw.iterrows():
        name = site_label(r["site"], "en")
        line = next((ln for ln in lines if ln.startswith(name + " ") and ln[len(name) + 1:len(name) + 2].isdigit()
                     or ln.startswith(name + " <")), None)
        if line is None:
            continue
        counts = line[len(name):].split()[:2 + len(S.AGE_GROUPS)]
        assert not any(SMALL.match(c.replace(",", "")) and 0 < int(c.replace(",", "")) < K for c in counts), line
        checked += any(c == f"<{K}" for c in counts)
    assert checked > 10
    assert t("report.methods.disclosure", "en") in text


# --- languages and fonts --------------------------------------------------------------------------------
def test_azerbaijani_text_survives_extraction(az_pdf):
    text = pdf_text(az_pdf)
    assert all(ch in text for ch in AZ_LETTERS), [ch for ch in AZ_LETTERS if ch not in text]
    assert t("report.section.summary", "az") in text and "Süd vəzisi" in text
    assert t("report.title", "az", period="2024") in flat(text)


def test_russian_fact_sheets_one_page_each_with_cyrillic(ru_sheets, demo):
    reader = PdfReader(io.BytesIO(ru_sheets.content))
    assert len(reader.pages) == 2
    first, second = (flat(p) for p in page_texts(ru_sheets.content))
    assert t("report.fs.site_title", "ru", site=site_label("Breast", "ru"), period="2020–2024") in first
    assert re.search(r"[\u0400-\u04FF]{5}", first) and "Ağstafa" in second
    # the reproducibility stamp in the file's properties, as the annual report's
    extract = next(f for f in demo.files if f.role == "extract")
    meta = reader.metadata
    assert f"sha256:{extract.sha256}" in meta["/Keywords"] and report_data.software_version() in meta["/Subject"]
    assert "sheets=Breast,AZE-1676" in meta["/Subject"] and extract.sha256 in meta["/Subject"]
    # the sheet's women's ASR is the rates engine's on the same selection
    data = rate_input(demo, (2020, 2024), (2,), site="Breast")
    asr = rates.dsr(data, standard="world_segi1960", method="tiwari").iloc[0]
    assert format_number(asr["value"], "ru", 1) in first
    # and its 5-year net survival is analytics.survival's on the site's patients (period approach)
    from analytics import survival
    from analytics.survival import registry

    r = demo.records
    r = r[(r[S.SITE_CI5] == "Breast").fillna(False) & (pd.to_numeric(r[S.YEAR], errors="coerce") <= 2024)]
    surv, _ = registry.survival_data(r)
    net = survival.net_survival(surv, demo.lifetable, times=(5,), approach="period", period=(2020, 2024))
    five = net[net["time"] == 5].iloc[0]
    printed = f"{format_number(100 * five['estimate'], 'ru', 1)} ({format_number(100 * five['lower'], 'ru', 1)}–"
    assert printed in first, printed


def test_site_and_region_names_resolve(demo):
    from analytics.report.factsheet import resolve_region, resolve_site

    assert resolve_site("C50", "ci5") == resolve_site("c50.9", "ci5") == resolve_site("breast", "ci5") == "Breast"
    assert resolve_site("Süd vəzisi", "ci5") == "Breast"
    level, code, districts = resolve_region(demo, "Absheron Economic Region")
    assert level == S.PARENT and len(districts) > 1
    with pytest.raises(ReportError, match="neither an ICD-10 code"):
        resolve_site("C99x", "ci5")
    with pytest.raises(ReportError, match="not a district"):
        resolve_region(demo, "Atlantis")


def test_cumulative_risk_of_ages_above_74_is_missing_not_an_error(demo):
    data = demo.cube(S.SITE_CI5).select(Selection(years=(2024, 2024), ages=("75-79", "80-84", "85+")), (S.SEX,))
    out = tables.cumulative_risk_table(data, (S.SEX,), method="tiwari", conf=0.95)
    assert out[S.SEX].tolist() == [1, 2] and out["cum_risk"].isna().all()
    younger = demo.cube(S.SITE_CI5).select(Selection(years=(2024, 2024), ages=("70-74", "75-79")), (S.SEX,))
    assert tables.cumulative_risk_table(younger, (S.SEX,), method="tiwari", conf=0.95)["cum_risk"].gt(0).all()


def test_period_outside_the_data_is_a_sentence(demo):
    with pytest.raises(ReportError, match="outside the years"):
        build_report(demo, ReportOptions(period=(2020, 2031), sections=("summary",), figures=False))
    with pytest.raises(ValueError, match="unknown section"):
        ReportOptions(period=(2020, 2024), sections=("summary", "gossip"))


def test_without_a_browser_the_document_says_so(demo, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    built = build_report(demo, ReportOptions(period=(2024, 2024), sections=("top_sites", "methods")))
    text = flat(pdf_text(built))
    sentence = flat(t("report.figures_unavailable", "en", reason=t("common.export_unavailable", "en")))
    assert sentence in text
    assert all(f.svg is None and f.missing for f in built.document.figures())


# --- command line -----------------------------------------------------------------------------------------
def test_cli_report_and_factsheet(tmp_path, capsys):
    from analytics.__main__ import main

    out = tmp_path / "r.docx"
    assert main(["report", "--period", "2024", "--sections", "summary", "--no-figures", "--quiet",
                 "--lang", "ru", "--out", str(out)]) == 0
    doc = read_docx(str(out))
    assert f"1. {t('report.section.summary', 'ru')}" in [p.text for p in doc.paragraphs]
    sheet = tmp_path / "s.pdf"
    assert main(["factsheet", "--site", "C50", "--sex", "2", "--period", "2022-2024", "--no-figures", "--quiet",
                 "--out", str(sheet)]) == 0
    assert len(PdfReader(str(sheet)).pages) == 1
    assert "written" in capsys.readouterr().out


def test_cli_public_report_uses_the_operators_rule(tmp_path, monkeypatch):
    """`--public`: the counts of the cell-key rule with the operator's secret from the environment
    (REGISTRY_DISCLOSURE_SECRET, as the dashboard), "<k" below k, the rule named in the methods."""
    from analytics.__main__ import main
    from analytics.disclosure import SECRET_ENV, DisclosureRule

    monkeypatch.setenv(SECRET_ENV, "registry test secret")
    out = tmp_path / "public.docx"
    assert main(["report", "--period", "2024", "--sections", "incidence_tables,methods", "--no-figures", "--quiet",
                 "--public", "--out", str(out)]) == 0
    doc = read_docx(str(out))
    text = " ".join(p.text for p in doc.paragraphs)
    rule = DisclosureRule.from_env(k=K)
    assert not rule.uses_demo_secret and rule.fingerprint in text
    assert DisclosureRule(k=K).fingerprint not in text and t("report.methods.disclosure_demo", "en") not in text
    cells = [c.text for tab in doc.tables for row in tab.rows for c in row.cells]
    assert cells.count(f"<{K}") > 30
    assert not any(SMALL.match(c.replace(",", "")) and 0 < int(c.replace(",", "")) < K for c in cells)
    # the published counts are those of the environment's secret: the men's CI5 table
    men = next(tab for tab in doc.tables if tab.rows[0].cells[0].text == t("report.ci5.site", "en"))
    block_rows = [[c.text for c in row.cells] for row in men.rows]
    cells_men = published_input(report_data.demo(), (2024, 2024), 1, by=S.SITE_CI5)
    header = block_rows[0]
    lung = next(r for r in block_rows if r[0] == site_label(LUNG, "en"))
    for _, c in cells_men[(cells_men[S.SITE_CI5] == LUNG) & cells_men[S.AGE_GROUP].notna()].iterrows():
        want = f"<{K}" if 0 < c["count"] < K else format_number(c["count"], "en", 0)
        assert lung[header.index(c[S.AGE_GROUP].replace("-", "–"))] == want


def test_cli_fact_sheets_of_a_region_and_a_named_site_in_public_output(tmp_path):
    from analytics.__main__ import main

    out = tmp_path / "sheets.docx"
    assert main(["factsheet", "--region", "AZE-1676", "--site", "Stomach", "--period", "2020-2024", "--lang", "ru",
                 "--public", "--no-figures", "--quiet", "--out", str(out)]) == 0
    doc = read_docx(str(out))
    titles = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert titles == [t("report.fs.site_title", "ru", site=site_label("Stomach", "ru"), period="2020–2024"),
                      t("report.fs.region_title", "ru", region="Ağstafa", period="2020–2024")]
    assert "public:on" in doc.core_properties.keywords
    cells = [c.text.replace("\u00a0", "").replace(" ", "") for tab in doc.tables for row in tab.rows for c in row.cells]
    assert not any(SMALL.match(c) and 0 < int(c) < K for c in cells)


@pytest.mark.parametrize("argv, message", [
    (["report", "--period", "2020-2031", "--out", "x.pdf", "--no-figures"], "outside the years"),
    (["report", "--period", "twenty", "--out", "x.pdf"], "--period 'twenty'"),
    (["report", "--period", "2024", "--out", "x.txt"], "name a .pdf or .docx file"),
    (["report", "--period", "2024", "--out", "x.pdf", "--population", "p.csv"], "go with --data"),
    (["report", "--period", "2024", "--out", "x.pdf", "--data", "nowhere.csv", "--population", "p.csv"], "not found"),
    (["factsheet", "--period", "2024", "--out", "x.pdf", "--site", "C99x", "--no-figures"], "neither an ICD-10"),
    (["report", "--period", "2024", "--out", "x.pdf", "--standard", "mars"], "standard 'mars' is not known"),
])
def test_cli_bad_input_gives_a_sentence_not_a_traceback(argv, message, tmp_path, capsys, monkeypatch):
    from analytics.__main__ import main

    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pdf").exists()
