"""Character-encoding detection for text extracts.

Registries export from many systems: CanReg5 writes UTF-8 without BOM, Excel "CSV UTF-8"
adds a BOM, "Unicode text" is UTF-16 with BOM, and older Windows tools write the ANSI code
page of the machine (Windows-1252 in Western Europe, Windows-1251 in Cyrillic locales,
Latin-1 on older Unix). The rules, in order:

1. a byte-order mark decides (UTF-8, UTF-32 LE/BE, UTF-16 LE/BE); without one, UTF-32 and
   UTF-16 are recognised by their zero bytes (the readers transcode both to UTF-8 first);
2. a sample that decodes as UTF-8 is UTF-8 (multi-byte UTF-8 sequences are very unlikely
   to occur by chance in single-byte text, so this is the safe first guess; it is what keeps
   Azerbaijani letters such as "ə ğ ı ö ü ç ş" intact);
3. otherwise a single-byte code page: Windows-1251 when the high bytes (0xC0-0xFF) mostly
   come in runs, as in Cyrillic words where every letter is a high byte; Windows-1254
   (Turkish, the ANSI code page of Azerbaijani Latin Windows) when the sample has the bytes
   of "ğ ı ş Ğ İ Ş" and none of the acute vowels and "æ" that only Icelandic text would
   pair with the same bytes read as Windows-1252 ("ð ý þ"); Windows-1252 when high bytes sit
   alone among ASCII letters, as in accented Latin text; Latin-1 when the sample contains
   bytes that Windows-1252 leaves undefined. ("ə" has no place in any single-byte code
   page: an Azerbaijani file keeps it only in UTF-8 or UTF-16.)
"""
from __future__ import annotations

import codecs

import numpy as np

SAMPLE_BYTES = 1 << 20

_UNDEFINED_1252 = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
# Where Windows-1254 differs from Windows-1252 among letters: Ğ İ Ş ğ ı ş (1252: Ð Ý Þ ð ý þ)
_TURKIC_1254 = [0xD0, 0xDD, 0xDE, 0xF0, 0xFD, 0xFE]
# á é í ó ú æ and capitals: common in Icelandic next to ð ý þ, absent from Azerbaijani/Turkish
_ICELANDIC_ONLY = [0xE1, 0xE9, 0xED, 0xF3, 0xFA, 0xE6, 0xC1, 0xC9, 0xCD, 0xD3, 0xDA, 0xC6]


def detect_encoding(sample: bytes) -> str:
    """Python codec name for ``sample`` (the first bytes of a file)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    utf32 = _utf32(sample)
    if utf32:
        return utf32
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if _looks_utf16_without_bom(sample):
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a multi-byte character still counts as UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason.startswith("unexpected end"):
            return "utf-8"
    arr = np.frombuffer(sample, dtype=np.uint8)
    if any(int(b) in _UNDEFINED_1252 for b in np.unique(arr[(arr >= 0x80) & (arr < 0xA0)])):
        return "latin-1"
    high = arr >= 0xC0
    n_high = int(high.sum())
    if n_high:
        in_run = high & (np.r_[False, high[:-1]] | np.r_[high[1:], False])
        if in_run.sum() / n_high > 0.5:
            return "cp1251"
        if np.isin(arr, _TURKIC_1254).any() and not np.isin(arr, _ICELANDIC_ONLY).any():
            return "cp1254"
    return "cp1252"


def _utf32(sample: bytes) -> str | None:
    """``utf-32`` (with a byte-order mark, which starts like UTF-16's), ``utf-32-le``/``-be``
    (three zero bytes in every four, as in Latin text), else None."""
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    head = sample[:400]
    head = head[:len(head) - len(head) % 4]
    if len(head) < 8:
        return None
    quads = [head[i:i + 4] for i in range(0, len(head), 4)]
    if sum(q[1:] == b"\x00\x00\x00" for q in quads) > 0.8 * len(quads):
        return "utf-32-le"
    if sum(q[:3] == b"\x00\x00\x00" for q in quads) > 0.8 * len(quads):
        return "utf-32-be"
    return None


def _looks_utf16_without_bom(sample: bytes) -> bool:
    head = sample[:200]
    if len(head) < 4:
        return False
    zeros_even = head[0::2].count(0)
    zeros_odd = head[1::2].count(0)
    half = len(head) // 2
    return max(zeros_even, zeros_odd) > 0.4 * half and min(zeros_even, zeros_odd) < 0.05 * half


def decode_sample(sample: bytes, encoding: str) -> str:
    """Text of ``sample``; a character cut at the end of the sample is dropped."""
    return sample.decode(encoding, errors="ignore" if encoding.startswith("utf") else "replace")
