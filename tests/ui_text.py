"""Every text a page shows, as AppTest sees it (for the language tests): titles, captions,
markdown, alerts, metrics, widget labels and options, table headers (as labelled on screen)
and text cells, and the words drawn in charts (titles, axes, ticks, legends, labels, hovers)."""
from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

TEXT_ELEMENTS = ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success")
CHOICE_WIDGETS = ("selectbox", "radio", "multiselect", "select_slider")
LABELLED_WIDGETS = CHOICE_WIDGETS + ("slider", "toggle", "checkbox", "text_input", "button")
MARKUP = re.compile(r"<[^>]+>|%\{[^}]*\}|\$\{[^}]*\}|&[a-z]+;")


def _table_texts(d) -> list[tuple[str, str]]:
    out = []
    config = json.loads(d.proto.columns or "{}")
    value = d.value
    for c in value.columns:
        label = config.get(str(c), {}).get("label")
        hidden = config.get(str(c), {}).get("hidden")
        if hidden:
            continue
        out.append(("table header", label or str(c)))
        col = value[c]
        if col.dtype == object or str(col.dtype) in ("string", "str", "category"):
            out += [("table cell", str(x)) for x in col.dropna().astype(str).unique()[:300]]
    return out


def _figure_texts(spec: dict) -> list[tuple[str, str]]:
    out = []
    lay = spec.get("layout", {})
    title = lay.get("title", {})
    out.append(("chart title", str(title.get("text", "") if isinstance(title, dict) else title)))
    for key, ax in lay.items():
        if not isinstance(ax, dict) or key in ("title", "meta", "template"):
            continue
        t = ax.get("title")
        if t:
            out.append(("chart axis", str(t.get("text", "") if isinstance(t, dict) else t)))
        out += [("chart tick", str(x)) for x in ax.get("ticktext", []) or []]
    out += [("chart annotation", str(a.get("text", ""))) for a in lay.get("annotations", [])]
    for tr in spec.get("data", []):
        out.append(("chart legend", str(tr.get("name", "") or "")))
        for key in ("text", "labels", "x", "y", "hovertext", "customdata"):
            v = tr.get(key)
            if isinstance(v, list):
                flat = [x for row in v for x in (row if isinstance(row, list) else [row])]
                out += [(f"chart {key}", x) for x in flat if isinstance(x, str)]
        for key in ("hovertemplate", "texttemplate"):
            if isinstance(tr.get(key), str):
                out.append(("chart hover", tr[key]))
        bar = tr.get("colorbar") or (tr.get("marker") or {}).get("colorbar") or {}
        if bar.get("title"):
            out.append(("chart colorbar", str(bar["title"].get("text", ""))))
    return out


def page_texts(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) of everything the current page shows, markup removed."""
    out: list[tuple[str, str]] = []
    for kind in TEXT_ELEMENTS:
        out += [(kind, str(e.value)) for e in getattr(at, kind)]
    for m in at.metric:
        out += [("metric", m.label), ("metric", str(m.value)), ("metric help", str(m.proto.help or ""))]
    for kind in LABELLED_WIDGETS:
        for w in getattr(at, kind):
            out.append((kind, str(getattr(w, "label", "") or "")))
            if kind in CHOICE_WIDGETS:
                out += [(f"{kind} option", str(o)) for o in getattr(w.proto, "options", [])]
    for kind in ("download_button", "file_uploader"):
        out += [(kind, str(w.proto.label)) for w in at.get(kind)]
    for d in list(at.dataframe) + list(at.get("arrow_data_frame")):
        out += _table_texts(d)
    for c in at.get("plotly_chart"):
        out += _figure_texts(json.loads(c.proto.spec))
    return [(where, MARKUP.sub(" ", text)) for where, text in out if text]
