"""The app's single door to the translation function ``analytics.i18n.t``."""
from __future__ import annotations

LANGS = {"en": "English", "az": "Azərbaycanca", "ru": "Русский"}

try:
    from analytics.i18n import t as _t
except ImportError:  # until analytics.i18n lands
    from app_support.fallback import t as _t


def t(key: str, lang: str = "en", **fmt) -> str:
    return _t(key, lang, **fmt)


def site_name(label: str, lang: str) -> str:
    """Translated site-group label (charts engineer's catalogue), the English label otherwise."""
    try:
        from analytics.i18n import site_label

        return site_label(label, lang)
    except ImportError:
        return label
