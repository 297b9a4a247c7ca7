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


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'@])")


def md(text: object) -> str:
    """User-supplied text (a file, region or column name, a reader's sentence that quotes one)
    made inert for Streamlit's Markdown: every ASCII punctuation mark is backslash-escaped
    (CommonMark renders it as itself), line breaks become spaces. So ``![x](http://…)`` shows
    as those characters, not as an image fetched from that address, and ``<b>``, ``$x$``,
    ``:red[x]`` stay text. Use it wherever such text goes into st.markdown, st.caption,
    st.error/warning/info/success, st.subheader or a widget label."""
    flat = str(text).replace("\r", " ").replace("\n", " ")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
