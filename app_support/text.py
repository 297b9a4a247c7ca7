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
