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
