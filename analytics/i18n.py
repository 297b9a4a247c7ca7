"""Translation of every user-visible string: one function, catalogues as JSON in ``data/i18n``.

Catalogues live in ``data/i18n/<lang>/<namespace>.json``, one file per language and
namespace; each engineer owns the files of their namespace.  A file is a JSON object whose
keys are either full keys (``"charts.axis_rate"``) or keys relative to the namespace
(``"axis_rate"``, read as ``"charts.axis_rate"``); nested objects are flattened with dots.
Values are :meth:`str.format` templates (``"{value} per {multiplier}"``).

Lookup falls back to English and then to the key itself, so a missing translation never
breaks a page; ``tests/test_i18n.py`` makes the fallback impossible to ship by failing when
any catalogue lacks a key the code uses.  :func:`missing_keys` lists what fell back at run
time (for a developer's look).
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from analytics.schema import DATA_DIR

I18N_DIR = DATA_DIR / "i18n"
LANGUAGES: tuple[str, ...] = ("en", "az", "ru")
DEFAULT_LANG = "en"
# Each language named in itself, for the language selector.
LANGUAGE_NAMES = {"en": "English", "az": "Azərbaycanca", "ru": "Русский"}

_MISSING: set[tuple[str, str]] = set()


def normalize_lang(lang: str | None) -> str:
    """Return a supported language code; anything else (None, "xx", a URL typo) gives English.

    Lenient on purpose: the language comes from the URL, and a bad value must still render.
    """
    if not lang:
        return DEFAULT_LANG
    code = str(lang).strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else DEFAULT_LANG


def _flatten(obj: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)
    return out


def read_catalogue_file(path: Path) -> dict[str, str]:
    """Keys -> templates of one catalogue file, keys made full (``<namespace>.<key>``).

    Raises ValueError naming the file when it is not a JSON object.
    """
    namespace = path.stem
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a catalogue must be a JSON object of key -> text")
    out = {}
    for key, text in _flatten(data).items():
        full = key if key.startswith(namespace + ".") else f"{namespace}.{key}"
        out[full] = text
    return out


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """All keys -> templates of one language (every namespace file merged)."""
    folder = I18N_DIR / normalize_lang(lang)
    merged: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        merged.update(read_catalogue_file(path))
    return merged


def reload_catalogues() -> None:
    """Forget cached catalogues (after editing a JSON file in a running process)."""
    catalogue.cache_clear()
    _MISSING.clear()


def has_key(key: str, lang: str = DEFAULT_LANG) -> bool:
    return key in catalogue(lang)


def missing_keys() -> set[tuple[str, str]]:
    """(lang, key) pairs looked up at run time that were not in that language's catalogue."""
    return set(_MISSING)


def t(key: str, lang: str = DEFAULT_LANG, **fmt: Any) -> str:
    """Translate ``key`` ("<namespace>.<key>") into ``lang``, formatting the template with ``fmt``.

    Falls back to English, then to the key itself.  A template whose placeholders do not
    match ``fmt`` is returned unformatted rather than raising, so one bad translation cannot
    take a page down (the catalogue test checks placeholders agree across languages).
    """
    lang = normalize_lang(lang)
    text = catalogue(lang).get(key)
    if text is None:
        _MISSING.add((lang, key))
        text = catalogue(DEFAULT_LANG).get(key, key)
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text


# --- numbers ---------------------------------------------------------------------------
# Decimal and thousands separators of the glibc locales (LC_NUMERIC of az_AZ, ru_RU, en_US in
# /usr/share/i18n/locales): az "," and "."; ru "," and a narrow no-break space; en "." and ",".
_NUMBER_SYMBOLS = {"en": (".", ","), "az": (",", "."), "ru": (",", "\u202f")}


def plotly_separators(lang: str = DEFAULT_LANG) -> str:
    """plotly ``layout.separators`` (decimal, thousands) matching :func:`format_number`."""
    dec, group = _NUMBER_SYMBOLS[normalize_lang(lang)]
    return dec + group


def format_number(x: float | int | None, lang: str = DEFAULT_LANG, decimals: int = 1) -> str:
    """``45.2`` -> "45.2" (en) / "45,2" (az, ru); ``100000`` -> "100,000" (en), "100.000" (az),
    "100\u202f000" (ru).

    NaN/None give an en dash, as in CI5 tables.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "\u2013"
    try:
        if math.isnan(float(x)):
            return "\u2013"
    except (TypeError, ValueError):
        return str(x)
    dec, group = _NUMBER_SYMBOLS[normalize_lang(lang)]
    s = f"{float(x):,.{decimals}f}"
    return s.replace(",", "\x00").replace(".", dec).replace("\x00", group)


# --- site names, sexes, standards ----------------------------------------------------------
def site_key(label: str) -> str:
    """Catalogue key of a site-group label: "Lung (incl. trachea and bronchus)" ->
    "sites.lung_incl_trachea_and_bronchus" (lower case, non-alphanumerics collapsed to _)."""
    slug = re.sub(r"[^0-9a-z]+", "_", str(label).lower()).strip("_")
    return f"sites.{slug}"


def site_label(label: str, lang: str = DEFAULT_LANG) -> str:
    """Translated name of a site group given its English label (site_groups.csv).

    A label without a catalogue entry (a user's own grouping) is shown as it is.
    """
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return ""
    key = site_key(label)
    lang = normalize_lang(lang)
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANG).get(key)
        if text is None:
            return str(label)
        _MISSING.add((lang, key))
    return text


_SEX_KEYS = {1: "common.male", 2: "common.female", 9: "common.sex_unknown", 0: "common.both_sexes"}
_SEX_WORDS = {"male": 1, "m": 1, "men": 1, "female": 2, "f": 2, "women": 2, "both": 0,
              "all": 0, "total": 0, "unknown": 9}


def sex_code(sex: Any) -> int:
    """1 male, 2 female, 9 unknown, 0 both sexes, from a code or word."""
    if isinstance(sex, str):
        s = sex.strip().lower()
        if s.isdigit():
            return int(s)
        return _SEX_WORDS.get(s, 9)
    try:
        if sex is None or math.isnan(float(sex)):
            return 0
        return int(sex)
    except (TypeError, ValueError):
        return 9


def sex_label(sex: Any, lang: str = DEFAULT_LANG) -> str:
    """"Men" / "Women" / "Both sexes" / "Sex unknown" in ``lang`` (codes of schema.SEX)."""
    return t(_SEX_KEYS.get(sex_code(sex), "common.sex_unknown"), lang)


# Standard-population names vary between catalogues ("world_segi1960",
# "segi_1960_world_18grp_per100k", ...); recognise the family from the name.
_STANDARD_PATTERNS = [
    (r"who", "common.standard_who"),
    (r"segi|world", "common.standard_world"),
    (r"esp.?2013|europe\w*.?2013", "common.standard_esp2013"),
    (r"esp|europe", "common.standard_esp1976"),
    (r"nordic", "common.standard_nordic"),
    (r"us.?2000", "common.standard_us2000"),
    (r"canada", "common.standard_canada"),
]


def standard_label(name: str | None, lang: str = DEFAULT_LANG) -> str:
    """Short translated name of a standard population ("world standard", "European standard 2013")."""
    if not name:
        return ""
    n = str(name).lower()
    for pattern, key in _STANDARD_PATTERNS:
        if re.search(pattern, n):
            return t(key, lang)
    return str(name)


# --- scanning source for keys (used by tests/test_i18n.py) -------------------------------
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_.\-]+$")
TRANSLATION_FUNCTIONS = ("t",)


def _literal_keys(source: str) -> list[tuple[str, int]]:
    # Parse rather than grep, so examples in docstrings and comments are not taken for use.
    import ast
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        arg = node.args[0]
        if (name in TRANSLATION_FUNCTIONS and isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                and KEY_PATTERN.match(arg.value)):
            out.append((arg.value, node.lineno))
    return out


def keys_used_in(paths: list[Path]) -> dict[str, list[str]]:
    """Literal keys of translation calls (``t("<namespace>.<key>", ...)``) in the given .py
    files or folders, each with the places ("file:line") that use it."""
    found: dict[str, list[str]] = {}
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(p.rglob("*.py")))
        elif p.suffix == ".py" and p.exists():
            files.append(p)
    for f in files:
        for key, lineno in _literal_keys(f.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(key, []).append(f"{f}:{lineno}")
    return found
