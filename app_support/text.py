"""The app's single door to the translation function ``analytics.i18n.t``."""
from __future__ import annotations

import re

from analytics.i18n import LANGUAGE_NAMES as LANGS
from analytics.i18n import site_label
from analytics.i18n import t as _t


def t(key: str, lang: str = "en", **fmt) -> str:
    return _t(key, lang, **fmt)


def site_name(label: str, lang: str) -> str:
    """Translated site-group label (charts engineer's catalogue)."""
    return site_label(label, lang)


def region_name(code, lang: str, *, level: str = "region_code", fallback: str | None = None) -> str:
    """A district's (``level`` region_code) or economic region's (parent_code) name in ``lang``
    (catalogue ``regions.json``; an upload's own regions keep the name their file gave)."""
    from analytics.labels import region_label

    return region_label(code, lang, level=level, fallback=fallback)


def region_names(codes, lang: str, *, level: str = "region_code", fallback=None):
    """:func:`region_name` of a column of codes (a Series), ``fallback`` a code -> name map."""
    from analytics.labels import region_labels

    return region_labels(codes, lang, level=level, fallback=fallback)


SYNTHETIC = "(synthetic demo)"   # how analytics.demo labels its files


def source_text(source, lang: str) -> str:
    """The file a data set was read from, its "(synthetic demo)" label in ``lang``."""
    text = str(source)
    return text.replace(SYNTHETIC, f"({t('describe.synthetic_demo', lang)})") if SYNTHETIC in text else text


# What can turn text into a link or an image (brackets), maths ($), code (backtick), and the
# escape character itself; and what starts a heading, list, quote or rule at a line's start.
# Raw HTML needs nothing: Streamlit does not render it unless a page allows HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`\[\]$])")
_LINE_START = re.compile(r"^(\s*)(?:([#>+=|~*_-])|(\d+)([.)]))")


def md(text: object) -> str:
    """User-supplied text (a file, region or column name, a reader's sentence that quotes one)
    made inert for Streamlit's Markdown: brackets (links, images), ``$`` (maths), backticks and
    the backslash are backslash-escaped (CommonMark shows them as themselves), a heading, list
    or quote marker at the start is escaped too, and line breaks become spaces. So
    ``![x](http://…)`` shows as those characters, not as an image fetched from that address.
    Use it wherever such text goes into st.markdown, st.caption, st.error/warning/info/success,
    st.subheader or a widget label."""
    flat = str(text).replace("\r", " ").replace("\n", " ")
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"),
                           escaped)
