"""The report against the dashboard: the CI5 table printed in the report equals the Incidence
page's CI5 table cell by cell (numbers and printed text), in normal and public output; the Report
page builds a document in the background and offers it for download, in every language."""
from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pytest
from docx import Document as read_docx
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from analytics import schema as S
from analytics.i18n import format_number, sex_label, site_label, t
from analytics.report import ReportOptions, build_report
from analytics.report import data as report_data
from analytics.report.common import Context
from conftest import app

YEARS = (2023, 2024)
NUMBERS = ["all_ages", "unknown_age", *S.AGE_GROUPS, "crude_rate", "percent", "cum_rate_0_74", "cum_risk_0_74", "asr"]


@pytest.fixture(scope="module")
def demo():
    return report_data.demo()


def page_ci5(public: int, sex: int) -> pd.DataFrame:
    at = app("incidence", y0=YEARS[0], y1=YEARS[1], public=public, inc_ci5_sex=sex)
    return next(d.value for d in at.dataframe if "cum_risk_0_74" in d.value.columns)


@pytest.mark.parametrize("public", [0, 1])
def test_report_ci5_table_equals_the_incidence_page_cell_by_cell(demo, public):
    built = build_report(demo, ReportOptions(period=YEARS, sections=("incidence_tables",), format="docx",
                                             public=bool(public), figures=False))
    doc = read_docx(io.BytesIO(built.content))
    printed = [[[c.text for c in row.cells] for row in tab.rows] for tab in doc.tables
               if tab.rows[0].cells[0].text == t("report.ci5.site", "en")]
    assert len(printed) == 2
    ctx = Context(demo, ReportOptions(period=YEARS, public=bool(public)))
    for sex, table in zip((1, 2), printed):
        page = page_ci5(public, sex)
        assert (page["sex"] == sex_label(sex, "en")).all()
        block = built.document.tables()[f"ci5_{sex}"]
        report = block.frame.assign(site_label=block.frame["site"],
                                    site=block.frame["site"].map(lambda s: site_label(s, "en")))
        assert sorted(report["site"]) == sorted(page["site"])          # the same rows
        rows = {r[0]: r for r in table[1:]}
        assert len(rows) == len(page)
        for _, p in page.iterrows():
            r = report[report["site"] == p["site"]].iloc[0]
            cells = rows[p["site"]]
            for col in NUMBERS:
                a, b = pd.to_numeric(pd.Series([p[col], r[col]]), errors="coerce")
                assert (np.isnan(a) and np.isnan(b)) or a == b, (p["site"], col, p[col], r[col])
            # the printed cells are the page's numbers, formatted
            header = block.header
            withheld = block.frame.attrs.get("withheld", {})      # primary / complementary per cell
            site = r["site_label"]
            assert cells[header.index(t("report.ci5.all_ages", "en"))] == ctx.count(
                p["all_ages"], withheld.get(site, {}).get("all_ages", ""))
            for age in S.AGE_GROUPS:
                assert cells[header.index(age.replace("-", "–"))] == ctx.count(p[age], withheld.get(site, {}).get(age, ""))
            assert cells[header.index("ASR (W)")] == (format_number(p["asr"], "en", 1) if np.isfinite(p["asr"]) else "–")
            assert cells[header.index(t("report.ci5.cum_risk", "en"))] == (
                format_number(p["cum_risk_0_74"], "en", 2) if np.isfinite(p["cum_risk_0_74"]) else "–")
        if public:
            assert any(f"<{ctx.k}" in r for r in table)


def _wait(at: AppTest, seconds: float = 300):
    deadline = time.monotonic() + seconds
    job = at.session_state["_report_job"]
    while not job.done() and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert job.done(), "the build did not finish"
    at.run()
    return job


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
def test_report_page_builds_in_the_background_and_offers_the_file(lang):
    at = app("report", y0=2024, y1=2024, lang=lang)
    assert at.title[0].value == t("app.page.report", lang)
    at.multiselect(key="rep_sections").set_value(["summary"]).run()
    at.button(key="rep_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = _wait(at)
    assert job.error() is None, job.error()
    built = job.result()
    assert built.content.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(built.content)).pages[2].extract_text()
    assert t("report.section.summary", lang) in text
    assert [b.label for b in at.get("download_button")] == [t("report.page.download", lang, format="PDF")]
    assert at.success[0].value.startswith(t("report.page.ready", lang, seconds="")[:5])


def test_report_page_fact_sheets_in_word_for_the_sidebar_site():
    at = app("report", y0=2022, y1=2024, site="Stomach", public=1)
    at.radio(key="p_rep_kind").set_value("factsheet").run()
    at.radio(key="p_rep_format").set_value("docx").run()
    assert at.multiselect(key="rep_sites").value == ["Stomach"]
    assert t("report.page.public_on", "en", k=10) in [c.value for c in at.caption]
    at.button(key="rep_build").click().run()
    job = _wait(at)
    built = job.result()
    assert built.format == "docx" and built.document.kind == "factsheet"
    titles = [p.text for p in read_docx(io.BytesIO(built.content)).paragraphs if p.style.name == "Heading 1"]
    assert titles == [t("report.fs.site_title", "en", site="Stomach", period="2022–2024")]
    assert "public:on" in built.document.properties["keywords"]
