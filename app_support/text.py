"""The app's single door to the translation function ``analytics.i18n.t``."""
from __future__ import annotations

from analytics.i18n import LANGUAGE_NAMES as LANGS
from analytics.i18n import site_label
from analytics.i18n import t as _t


def t(key: str, lang: str = "en", **fmt) -> str:
    return _t(key, lang, **fmt)


def site_name(label: str, lang: str) -> str:
    """Translated site-group label (charts engineer's catalogue)."""
    return site_label(label, lang)
