"""Files for download: tables as CSV and Excel, figures as PNG/SVG/PDF/HTML, decks as PowerPoint.

Figures are rendered by kaleido 1.5 with the system Chromium (Debian ``/usr/bin/chromium``).
One kaleido server is started lazily, once per process, on the first export and reused:
a one-shot export starts a browser each time (1.5-2.8 s), the server answers in about
0.1-0.15 s (measured, shared/notes/stack.md section 4).  Where no Chromium exists,
:func:`export_available` says so in a sentence and :func:`figure_to_html` gives a
self-contained interactive file instead.

Every exported figure carries the provenance footer of :mod:`analytics.charts.base`.
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import functools
import io
import logging
import os
import shutil
import struct
import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analytics.charts.base import Provenance, add_footer, apply_theme, layout_bottom, local_topojson_uri
from analytics.i18n import t

DPI = 300
MM_PER_INCH = 25.4
DEFAULT_WIDTH = 1000      # layout px: plotly lays the figure out at this size
DEFAULT_HEIGHT = 600
DEFAULT_WIDTH_MM = 170.0  # a full page width in most journals (Elsevier, BMJ: 170-174 mm)
FORMATS = ("png", "svg", "pdf")
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ExportUnavailable(RuntimeError):
    """No browser to render images with; the message is a sentence for the user."""


@dataclass(frozen=True)
class ExportStatus:
    """Whether figures can be rendered as images here; truthy when they can."""

    ok: bool
    browser: str | None
    message: str

    def __bool__(self) -> bool:
        return self.ok


def _find_browser() -> str | None:
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    return _browser_on_path(os.environ.get("PATH", os.defpath))


@functools.lru_cache(maxsize=4)
def _browser_on_path(search: str) -> str | None:
    """The first of :data:`_BROWSER_NAMES` on the search path ``search``, looked up once per
    process and path: the dashboard asks for every chart of every rerun, and each lookup was
    about thirty system calls (a wait for the GIL each with many sessions at once). A Chromium
    installed while the server runs is found after a restart."""
    for name in _BROWSER_NAMES:
        path = shutil.which(name, path=search)
        if path:
            return path
    return None


def export_available(lang: str = "en") -> ExportStatus:
    """Can PNG/SVG/PDF be made?  ``ExportStatus(ok, browser, message)``; the message says
    plainly, in ``lang``, when no Chromium was found and what to download instead."""
    browser = _find_browser()
    if browser is None:
        return ExportStatus(False, None, t("common.export_unavailable", lang))
    return ExportStatus(True, browser, "")


# --- the long-lived export browser --------------------------------------------------------------
log = logging.getLogger(__name__)
# Tabs of the export browser: this many figures are drawn at once (the slides of a deck, two
# sessions' PNGs, a slide rendered in the background while a user downloads a PNG).
EXPORT_TABS = 2
RENDER_TIMEOUT = 90.0    # seconds for one figure (kaleido's own default)
START_TIMEOUT = 60.0     # seconds for Chromium and its tabs to start (one attempt)
START_ATTEMPTS = 2       # a start that hangs (seen once in a loaded test run) is abandoned and tried again
_SERVER_LOCK = threading.Lock()
_SERVER: "_ExportServer | None" = None
_SERVER_STARTED = False


RELOAD_EVERY = 25       # figures a tab draws on one page before it reloads (and after any figure that failed)


@functools.cache
def _browser_class() -> type:
    """``kaleido.Kaleido`` that reloads a tab only now and then, never on the way to an image.

    kaleido reloads a tab (plotly.js and all) after every figure so the next one starts on a
    clean page, and returns the image only once that reload is done. Each figure is drawn by
    ``Plotly.toImage`` in a temporary element it removes afterwards, so the page is clean anyway:
    here a tab whose figure was drawn goes straight back to the free tabs, and is reloaded — in
    the background, rejoining the free tabs afterwards — after :data:`RELOAD_EVERY` figures or
    after a figure that failed or timed out (its page may still be busy). A reload costs the export
    browser 0.15 s of CPU, about twice the drawing of a small chart (round 18, README). A reload
    that fails (the browser died) is kept in ``failed``: :class:`_ExportServer` then restarts the
    browser. (Subclasses kaleido 1.5's ``_get_kaleido_tab`` / ``_return_kaleido_tab`` and wraps
    its tab's ``_calc_fig``; ``tests/test_export.py`` checks they exist.)"""
    import kaleido

    class ExportBrowser(kaleido.Kaleido):
        failed: BaseException | None = None

        async def _get_kaleido_tab(self):
            tab = await kaleido.Kaleido._get_kaleido_tab(self)
            _count_drawings(tab)
            return tab

        async def _return_kaleido_tab(self, tab) -> None:
            if tab.drawn_ok and tab.drawings < RELOAD_EVERY:
                tab.js_logger.reset()       # the next figure's error names its own console messages
                await self.tabs_ready.put(tab)
                return
            tab.drawings = 0
            reload = asyncio.get_running_loop().create_task(kaleido.Kaleido._return_kaleido_tab(self, tab))
            self.__dict__.setdefault("_reloads", set()).add(reload)
            reload.add_done_callback(self._reloaded)

        def _reloaded(self, task: asyncio.Task) -> None:
            self._reloads.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self.failed = task.exception()
                log.warning("an export tab could not be reloaded: %s", self.failed)

    return ExportBrowser


def _count_drawings(tab) -> None:
    """Wrap a kaleido tab's ``_calc_fig`` (once per tab) so the tab knows whether its last figure
    was drawn (``drawn_ok``: not on an error, a timeout or a cancellation) and how many figures it
    drew since its page was loaded (``drawings``)."""
    if "_calc_fig" in vars(tab):
        return
    calc = tab._calc_fig
    tab.drawings, tab.drawn_ok = 0, False

    async def counted(*args, **kwargs):
        tab.drawings += 1
        tab.drawn_ok = False
        out = await calc(*args, **kwargs)
        tab.drawn_ok = True
        return out
    tab._calc_fig = counted


class _ExportServer:
    """One Chromium (kaleido, :data:`EXPORT_TABS` tabs) driven from its own event-loop thread.

    Unlike ``kaleido.start_sync_server`` (one call at a time), calls from several threads — each
    session's downloads, the deck's background renders — share the tabs: each call takes the
    next free tab. The page loads no MathJax (kaleido's default fetches it from a CDN on every
    reload; nothing is downloaded at run time and no figure here uses LaTeX)."""

    def __init__(self, browser: str, tabs: int = EXPORT_TABS):
        self._pending: set[concurrent.futures.Future] = set()
        self._pending_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kaleido-export", daemon=True)
        self._thread.start()
        self._opening = None
        try:
            self._kaleido = self._call(self._open(browser, tabs), START_TIMEOUT)
        except BaseException:
            if self._opening is not None:       # a start that hung: its Chromium is closed, not left running
                with contextlib.suppress(Exception):
                    self._call(self._opening.close(), 10)
            self._end_loop()
            raise

    async def _open(self, browser: str, tabs: int):
        k = self._opening = _browser_class()(path=browser, n=tabs, mathjax=False, timeout=RENDER_TIMEOUT)
        await k.open()
        return k

    def _call(self, coro, timeout: float):
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        with self._pending_lock:
            self._pending.add(fut)
        try:
            return fut.result(timeout)
        finally:
            with self._pending_lock:
                self._pending.discard(fut)

    def alive(self) -> bool:
        """Is the browser still up (a figure's own error leaves it up; a killed browser does not)?"""
        return self._thread.is_alive() and getattr(self._kaleido, "failed", None) is None

    def render(self, figs: Sequence[dict], opts: Mapping[str, Any]) -> list[bytes]:
        """The images of ``figs`` (figure dicts), drawn concurrently by the free tabs."""
        if self._kaleido.failed is not None:
            raise RuntimeError(f"the export browser stopped: {self._kaleido.failed}")

        topojson = pio.defaults.topojson or local_topojson_uri()    # maps' base map: local, never the CDN

        async def draw() -> list[bytes]:
            return list(await asyncio.gather(*(self._kaleido.calc_fig(f, dict(opts), topojson=topojson)
                                               for f in figs)))
        return self._call(draw(), RENDER_TIMEOUT * (1 + len(figs) // EXPORT_TABS))

    def close(self) -> None:
        try:
            self._call(self._kaleido.close(), 30)
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        with self._pending_lock:      # calls of other threads still waiting: they fail now, not after the timeout
            pending = list(self._pending)
        for fut in pending:
            fut.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _ensure_server() -> "_ExportServer":
    global _SERVER, _SERVER_STARTED
    server = _SERVER
    if server is not None:
        return server
    with _SERVER_LOCK:
        if _SERVER is None:
            status = export_available()
            if not status:
                raise ExportUnavailable(status.message)
            _SERVER = _start_server(status.browser)
            _SERVER_STARTED = True
            atexit.register(stop_export_server)
        return _SERVER


def _start_server(browser: str) -> "_ExportServer":
    """Start Chromium with its export tabs (one per process; :func:`stop_export_server` ends it);
    a start that does not finish within :data:`START_TIMEOUT` is abandoned and tried again, up to
    :data:`START_ATTEMPTS` times."""
    for _ in range(START_ATTEMPTS - 1):
        try:
            return _ExportServer(browser, EXPORT_TABS)
        except concurrent.futures.TimeoutError:
            log.warning("the export browser did not start within %.0f s: starting it again", START_TIMEOUT)
    return _ExportServer(browser, EXPORT_TABS)


def warm_up(*, wait: bool = False) -> threading.Thread | None:
    """Start the export server now, in a background thread, and render one tiny figure per tab,
    so the browser, its tabs and plotly.js are loaded before the first export (which otherwise
    waits seconds for Chromium). Returns the thread (None when no Chromium is installed)."""
    if _SERVER_STARTED or not export_available():
        return None

    def start() -> None:
        try:
            tiny = go.Figure(layout={"width": 40, "height": 30})
            _render_batch([tiny] * EXPORT_TABS, "svg", 40, 30, 1.0, "en")
        except Exception:  # noqa: BLE001 - the first export says what is wrong, in a sentence
            log.warning("the export server could not be started in advance", exc_info=True)

    thread = threading.Thread(target=start, name="kaleido-warm-up", daemon=True)
    thread.start()
    if wait:
        thread.join()
    return thread


def server_running() -> bool:
    """Is the export browser up (started by :func:`warm_up` or a first export)?"""
    return _SERVER is not None


def stop_export_server(only: "_ExportServer | None" = None) -> None:
    """Stop the export browser (also done at interpreter exit); with ``only``, only if that one is
    still the current browser (a thread that saw it fail must not stop the one another thread
    has started since)."""
    global _SERVER, _SERVER_STARTED
    with _SERVER_LOCK:
        if only is not None and _SERVER is not only:
            return
        server, _SERVER, _SERVER_STARTED = _SERVER, None, False
    if server is not None:
        try:
            server.close()
        except Exception:  # noqa: BLE001 - a browser that already died has nothing left to close
            log.warning("the export browser did not close cleanly", exc_info=True)


# --- tables ---------------------------------------------------------------------------------------
# A text cell starting with one of these is read by spreadsheet programs as a formula
# (OWASP "CSV injection"): "=HYPERLINK(...)", "+cmd|...", "-2+3", "@SUM(...)", or hides one
# behind a tab or carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutral(v: Any) -> Any:
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every *text* cell (and column name) starting with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return is prefixed with ``'`` (OWASP's advice), so a spreadsheet
    shows it as text instead of running it. Numbers, dates and codes are left as they are
    (a negative number is a number, not text)."""
    out = df.copy(deep=False)
    out.columns = [_neutral(str(c)) if isinstance(c, str) else c for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
                fixed = [_neutral(c) for c in cats]
                if fixed != list(cats):
                    out.isetitem(i, col.cat.rename_categories(fixed))
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            text = col.astype(object)
            hit = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).to_numpy(dtype=bool)
            if hit.any():
                out.isetitem(i, text.where(~hit, "'" + text[hit].astype(str)))
    return out


def table_to_csv(df: pd.DataFrame, *, bom: bool = True, index: bool = False) -> bytes:
    """CSV bytes, UTF-8, full precision, text cells that a spreadsheet would run as a formula
    neutralised (:func:`csv_safe`).  With ``bom`` (default) the file starts with a UTF-8
    byte-order mark so Excel shows Azerbaijani and Cyrillic text correctly; ``pandas.read_csv``
    reads it back unchanged."""
    text = csv_safe(df).to_csv(index=index, lineterminator="\n")
    return text.encode("utf-8-sig" if bom else "utf-8")


METADATA_KEYS = ("source", "filters", "standard", "method", "date", "suppression")
_META_LABEL_KEYS = {
    "source": "common.meta_source", "filters": "common.meta_filters",
    "standard": "common.meta_standard", "method": "common.meta_method",
    "date": "common.meta_date", "suppression": "common.meta_suppression",
    "period": "common.meta_period",
}


def _meta_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, Mapping):
        return "; ".join(f"{k}: {_meta_value(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple, set)):
        return ", ".join(map(str, v))
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds")
    return str(v)


def metadata_rows(metadata: Mapping[str, Any] | Provenance | None, lang: str = "en") -> list[tuple[str, str]]:
    """(label, value) rows of the metadata sheet: the standard items first (source, filters,
    standard, method, date, suppression rule; "not stated" when missing, date defaulting to
    now UTC), then any other items given."""
    meta: dict[str, Any] = {}
    if isinstance(metadata, Provenance):
        meta = {"source": metadata.source, "period": metadata.period, "standard": metadata.standard,
                "method": metadata.method, "date": metadata.date, **metadata.extra}
    elif metadata:
        meta = dict(metadata)
    if not meta.get("date"):
        meta["date"] = datetime.now(timezone.utc).replace(microsecond=0)
    rows = []
    for key in METADATA_KEYS:
        val = _meta_value(meta.pop(key, None))
        rows.append((t(_META_LABEL_KEYS[key], lang), val or t("common.not_stated", lang)))
    for key, val in meta.items():
        label = t(_META_LABEL_KEYS[key], lang) if key in _META_LABEL_KEYS else str(key)
        rows.append((label, _meta_value(val)))
    return rows


def _cell_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().replace(tzinfo=None)
    return v


_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_title(name: str, taken: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ , unique within the workbook.
    base = str(name).translate(_BAD_SHEET_CHARS).strip("'")[:31] or "sheet"
    title, i = base, 2
    while title.lower() in taken:
        suffix = f" ({i})"
        title, i = base[:31 - len(suffix)] + suffix, i + 1
    taken.add(title.lower())
    return title


def _write_table(ws, df: pd.DataFrame) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = [str(c) for c in df.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in df.itertuples(index=False, name=None):
        ws.append([_cell_value(v) for v in row])
    # openpyxl reads a leading "=" as a formula: force such strings back to text.
    for col in ws.iter_cols(min_row=2):
        for cell in col:
            if cell.data_type == "f":
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    for i, name in enumerate(columns, start=1):
        sample = [len(name)] + [len(str(v)) for v in df.iloc[:200, i - 1].tolist()]
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, max(sample) + 2))


def table_to_excel(df: pd.DataFrame | Mapping[str, pd.DataFrame],
                   metadata: Mapping[str, Any] | Provenance | None = None, *,
                   lang: str = "en", sheet_name: str | None = None) -> bytes:
    """An .xlsx workbook: the table on the first sheet (bold frozen header) and a
    "metadata" sheet with source, filters, standard, method, date and suppression rule.

    ``df`` may be a mapping {sheet name: table} for several tables in one file (e.g. the
    CI5 table of men and of women).  Text is always stored as text, so a value beginning
    with "=" is never run as a formula.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    tables = dict(df) if isinstance(df, Mapping) else {sheet_name or t("common.meta_sheet_data", lang): df}
    if not tables:
        raise ValueError("table_to_excel: no table to write")
    wb = Workbook()
    taken: set[str] = set()
    for i, (name, table) in enumerate(tables.items()):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = _sheet_title(name, taken)
        _write_table(ws, table)
    bold = Font(bold=True)
    meta = wb.create_sheet(_sheet_title(t("common.meta_sheet_metadata", lang), taken))
    meta.append([t("common.meta_item", lang), t("common.meta_value", lang)])
    for cell in meta[1]:
        cell.font = bold
    for label, value in metadata_rows(metadata, lang):
        meta.append([label, value])
        if meta.cell(row=meta.max_row, column=2).data_type == "f":
            meta.cell(row=meta.max_row, column=2).data_type = "s"
    meta.column_dimensions["A"].width = 24
    meta.column_dimensions["B"].width = 90
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- figures -------------------------------------------------------------------------------------
def png_scale(width_px: int, width_mm: float = DEFAULT_WIDTH_MM, dpi: int = DPI) -> float:
    """Scale that makes a figure laid out ``width_px`` wide print ``width_mm`` wide at ``dpi``."""
    return (width_mm / MM_PER_INCH * dpi) / width_px


def _set_png_dpi(png: bytes, dpi: int) -> bytes:
    # PNG pHYs chunk (ISO/IEC 15948 section 11.3.5.3): pixels per metre, unit 1 = metre,
    # placed right after IHDR so viewers and word processors size the image at ``dpi``.
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return png
    ppm = int(round(dpi / 0.0254))
    data = struct.pack(">IIB", ppm, ppm, 1)
    chunk = struct.pack(">I", len(data)) + b"pHYs" + data + struct.pack(">I", zlib.crc32(b"pHYs" + data))
    out, pos = [png[:8]], 8
    while pos < len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        ctype = png[pos + 4:pos + 8]
        end = pos + 12 + length
        if ctype != b"pHYs":
            out.append(png[pos:end])
        if ctype == b"IHDR":
            out.append(chunk)
        pos = end
    return b"".join(out)


def _set_png_text(png: bytes, keyword: str, text: str) -> bytes:
    # PNG iTXt chunk (ISO/IEC 15948 section 11.3.4.5: UTF-8 text, uncompressed) placed before
    # IEND, so the footer's words travel with the image as metadata a program can read.
    if png[:8] != b"\x89PNG\r\n\x1a\n" or not text:
        return png
    data = keyword.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    end = png.rfind(b"IEND") - 4
    return png[:end] + chunk + png[end:] if end > 8 else png


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", png[16:24])


def _prepared(fig: go.Figure, provenance: Provenance | str | None | bool, lang: str,
              theme: str | None, width: int | None = None) -> go.Figure:
    # Every exported figure says where it comes from: without a provenance, at least the date.
    out = go.Figure(fig)
    if theme is not None:
        apply_theme(out, theme)
    if provenance is False:
        return layout_bottom(out, width)
    return add_footer(out, Provenance() if provenance is None or provenance is True else provenance,
                      lang, width=width)


def figure_to_image(fig: go.Figure, fmt: str = "png", width: int | None = None,
                    height: int | None = None, scale: float | None = None, *,
                    width_mm: float | None = None, dpi: int = DPI,
                    provenance: Provenance | str | None | bool = None, lang: str = "en",
                    theme: str | None = None) -> bytes:
    """Render a figure to PNG, SVG or PDF bytes with kaleido (one long-lived server).

    ``width``/``height`` are the layout size in CSS pixels (default: the figure's own or
    1000 x 600).  For PNG, ``scale`` defaults to what makes the image ``width_mm`` wide at
    ``dpi`` (300 dpi, 170 mm: a journal page width), so a 1000 px layout gives a 2008 px
    image; the file also records the dpi (pHYs chunk).  SVG and PDF are vector: scale 1.
    ``provenance`` is the footer (None: the export date alone; False: no footer);
    ``theme`` ("light"/"presentation") restyles the figure first.

    Raises ExportUnavailable (a plain sentence) when no Chromium is installed.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"image format {fmt!r} is not supported: use one of {', '.join(FORMATS)}")
    width = int(width or fig.layout.width or DEFAULT_WIDTH)
    height = int(height or fig.layout.height or DEFAULT_HEIGHT)
    if scale is None:
        scale = png_scale(width, width_mm or DEFAULT_WIDTH_MM, dpi) if fmt == "png" else 1.0
    elif width_mm is not None:
        raise ValueError("give either scale or width_mm, not both")
    out = _prepared(fig, provenance, lang, theme, width)
    data = _render(out, fmt, width, height, scale, lang)
    if fmt == "png":
        data = _set_png_dpi(data, dpi)
        footer = provenance.text(lang) if isinstance(provenance, Provenance) else provenance
        if isinstance(footer, str):
            data = _set_png_text(data, "Description", footer)
    return data


def _with_restart(job: Callable[["_ExportServer"], Any], lang: str) -> Any:
    """``job(server)`` against the export server; a browser that died (killed, out of memory) is
    restarted once, then the failure is said in a sentence."""
    last: Exception | None = None
    for attempt in range(2):
        server = _ensure_server()
        try:
            return job(server)
        except Exception as exc:  # kaleido/chromium failures: say what happened, in a sentence
            last = exc
            timed_out = isinstance(exc, (TimeoutError, concurrent.futures.TimeoutError))
            if attempt == 0 and (timed_out or not server.alive()):
                stop_export_server(only=server)     # a dead or hung browser; the others' calls on it fail at once
    reason = str(last).strip() or type(last).__name__
    raise ExportUnavailable(t("common.export_failed", lang, reason=reason)) from last


def _render(fig: go.Figure, fmt: str, width: int, height: int, scale: float, lang: str) -> bytes:
    return _render_batch([fig], fmt, width, height, scale, lang)[0]


def figures_to_images(figs: Sequence[go.Figure], fmt: str = "png", *, width: int, height: int,
                      scale: float | None = None, dpi: int = DPI, provenance: Provenance | str | None | bool = None,
                      lang: str = "en", theme: str | None = None) -> list[bytes]:
    """:func:`figure_to_image` for several figures of one size (the slides of a deck), rendered
    concurrently by the export server's :data:`EXPORT_TABS` tabs."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"image format {fmt!r} is not supported: use one of {', '.join(FORMATS)}")
    if scale is None:
        scale = png_scale(width, DEFAULT_WIDTH_MM, dpi) if fmt == "png" else 1.0
    prepared = [_prepared(f, provenance, lang, theme, width) for f in figs]
    out = _render_batch(prepared, fmt, width, height, scale, lang) if prepared else []
    return [_set_png_dpi(b, dpi) for b in out] if fmt == "png" else out


def _render_batch(figs: list[go.Figure], fmt: str, width: int, height: int, scale: float, lang: str) -> list[bytes]:
    """Figures of one size drawn by the export server (its tabs draw them concurrently); a
    browser that died is restarted once (:func:`_with_restart`)."""
    specs = [f.to_dict() for f in figs]
    opts = dict(format=fmt, width=width, height=height, scale=scale)
    return _with_restart(lambda server: server.render(specs, opts), lang)


def figure_to_html(fig: go.Figure, *, provenance: Provenance | str | None | bool = None,
                   lang: str = "en", theme: str | None = None) -> bytes:
    """A self-contained interactive HTML file: plotly.js inline, no CDN, no MathJax,
    so it opens offline (the fallback when images cannot be rendered)."""
    out = _prepared(fig, provenance, lang, theme)
    html = out.to_html(include_plotlyjs=True, full_html=True, include_mathjax=False,
                       config={"displaylogo": False, "responsive": True})
    html = html.replace("<html>", f'<html lang="{lang}">', 1)
    return html.encode("utf-8")


# --- PowerPoint ---------------------------------------------------------------------------------
@dataclass
class Slide:
    """One chart for the deck: figure, title, a one-line reading, provenance footer.

    ``image``: the chart already rendered by :func:`slide_images` (same theme and dpi), e.g. in the
    background when the slide was chosen; None renders it with the deck."""

    figure: go.Figure
    title: str = ""
    reading: str = ""
    provenance: Provenance | str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    image: bytes | None = None


SLIDE_WIDTH_IN = 13.333   # 16:9 at PowerPoint's default widescreen size
SLIDE_HEIGHT_IN = 7.5
SLIDE_MARGIN_IN = 0.45
SLIDE_IMAGE_W_IN = SLIDE_WIDTH_IN - 2 * SLIDE_MARGIN_IN
SLIDE_IMAGE_H_IN = 5.0
SLIDE_LAYOUT_W = 1280     # layout px of a slide's chart
SLIDE_DPI = 200           # at its printed size (12.4 in): 2487 px wide (a 1080p projector shows ~1790)
SLIDE_THEME = "presentation"


def slide_images(figs: Sequence[go.Figure | Mapping[str, Any]], *, theme: str = SLIDE_THEME, dpi: int = SLIDE_DPI,
                 lang: str = "en") -> list[bytes]:
    """The PNG of each chart as :func:`build_presentation` puts it on a slide: without its own
    title (the slide title carries it), in ``theme``, 12.4 x 5 in at ``dpi``; drawn concurrently
    by the export server's tabs. ``lang`` is the language of an error message only."""
    layout_h = int(round(SLIDE_LAYOUT_W * SLIDE_IMAGE_H_IN / SLIDE_IMAGE_W_IN))
    untitled = []
    for f in figs:
        fig = go.Figure(f)
        fig.update_layout(title_text="")
        untitled.append(fig)
    return figures_to_images(untitled, "png", width=SLIDE_LAYOUT_W, height=layout_h,
                             scale=png_scale(SLIDE_LAYOUT_W, SLIDE_IMAGE_W_IN * MM_PER_INCH, dpi), dpi=dpi,
                             lang=lang, theme=theme, provenance=False)


def _as_slide(item: Slide | Mapping[str, Any] | go.Figure) -> Slide:
    if isinstance(item, Slide):
        return item
    if isinstance(item, go.Figure):
        return Slide(item, title=str(item.layout.title.text or ""))
    if isinstance(item, Mapping):
        fig = item.get("figure", item.get("fig"))
        if not isinstance(fig, go.Figure):
            fig = go.Figure(fig) if fig is not None else None
        if fig is None:
            raise ValueError("a slide needs a 'figure'")
        return Slide(fig, title=str(item.get("title") or fig.layout.title.text or ""),
                     reading=str(item.get("reading") or ""), provenance=item.get("provenance", item.get("footer")),
                     image=item.get("image"))
    raise TypeError(f"cannot make a slide from {type(item).__name__}")


def build_presentation(slides: Sequence[Slide | Mapping[str, Any] | go.Figure], *, lang: str = "en",
                       theme: str = SLIDE_THEME, dpi: int = SLIDE_DPI) -> bytes:
    """A 16:9 PowerPoint deck, one chart per slide: the title as slide title, the chart as a
    high-resolution image (presentation theme, ``dpi`` at its printed size: :func:`slide_images`),
    the one-line reading under it and the provenance footer at the bottom.

    The chart's own title is left out of the image since the slide title carries it. A slide
    whose ``image`` is given (rendered earlier by :func:`slide_images` with this theme and dpi)
    is not rendered again; the others are rendered in one batch.
    """
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    items = [_as_slide(s) for s in slides]
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_WIDTH_IN), Inches(SLIDE_HEIGHT_IN)
    layout = prs.slide_layouts[5]   # "Title Only"
    margin, img_w_in, img_h_in = SLIDE_MARGIN_IN, SLIDE_IMAGE_W_IN, SLIDE_IMAGE_H_IN
    missing = [i for i, item in enumerate(items) if item.image is None]
    drawn = iter(slide_images([items[i].figure for i in missing], theme=theme, dpi=dpi, lang=lang) if missing else [])
    pngs = [next(drawn) if item.image is None else item.image for item in items]
    for item, png in zip(items, pngs):
        slide = prs.slides.add_slide(layout)
        title = slide.shapes.title
        title.left, title.top = Inches(margin), Inches(0.25)
        title.width, title.height = Inches(img_w_in), Inches(0.8)
        title.text = item.title
        para = title.text_frame.paragraphs[0]
        para.font.size = Pt(30)
        para.font.bold = True
        slide.shapes.add_picture(io.BytesIO(png), Inches(margin), Inches(1.1), width=Inches(img_w_in),
                                 height=Inches(img_h_in))
        y = 1.1 + img_h_in + 0.05
        if item.reading:
            box = slide.shapes.add_textbox(Inches(margin), Inches(y), Inches(img_w_in), Inches(0.6))
            box.text_frame.word_wrap = True
            box.text_frame.text = item.reading
            box.text_frame.paragraphs[0].font.size = Pt(18)
        footer = item.provenance.text(lang) if isinstance(item.provenance, Provenance) else (item.provenance or "")
        if footer:
            box = slide.shapes.add_textbox(Inches(margin), Inches(SLIDE_HEIGHT_IN - 0.45),
                                           Inches(img_w_in), Inches(0.35))
            box.text_frame.word_wrap = True
            box.text_frame.text = str(footer)
            p = box.text_frame.paragraphs[0]
            p.font.size = Pt(11)
            p.font.color.rgb = RGBColor(0x33, 0x33, 0x33)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()
