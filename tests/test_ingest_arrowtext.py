"""The buffer-level shortcuts of analytics.ingest.arrowtext give what the string kernels give:
plain ASCII text is left as it is by trimming, its lengths are its character lengths, and the
cleaned ids (parse_text) and identifier checks are the same with and without the shortcut."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analytics import parsing, privacy
from analytics.ingest import arrowtext

CASES = [
    ["2000000101", "2000000201", "2000000301"],              # plain: the shortcut
    ["A1", "", None, "nan", "N/A", "NULL", ".", "x.", "12345"],   # NA markers among short plain values
    ["id1 ", "id2"],                                         # a trailing blank
    ["\tid1", "id2"],
    ["id\u00a01", "id2\u00a0"],                              # a no-break space at the end: not ASCII
    ["\u212a", "ok"],                                        # Kelvin sign, lower-cases to ASCII "k"
    ["a@b.example", "+994 50 123 45 67", "x"],                # an e-mail address and a phone number
    ["\x1f9", "9\x1c"],                                      # the ASCII separators Arrow also trims
]


def _slow_clean(values) -> list:
    arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.large_string()))
    na = pc.fill_null(pc.is_in(pc.utf8_lower(arr), value_set=pa.array(sorted(parsing._NA_STRINGS))), True)
    return pc.if_else(na, pa.scalar(None, type=pa.large_string()), arr).to_pylist()


@pytest.mark.parametrize("values", CASES)
def test_plain_ascii_means_trimming_changes_nothing(values):
    arr = pa.array(values, type=pa.large_string())
    trimmed = pc.utf8_trim_whitespace(arr)
    if arrowtext.plain_ascii(arr):
        assert trimmed.to_pylist() == arr.to_pylist()
        assert arrowtext.byte_lengths(arr).tolist() == pc.fill_null(pc.utf8_length(arr), 0).to_pylist()
    assert arrowtext.plain_ascii(arr) == any(values is CASES[i] for i in (0, 1, 6))


@pytest.mark.parametrize("values", CASES)
def test_parse_text_equals_trim_lower_lookup(values):
    s = pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))
    got = parsing.parse_text(s)
    assert [None if pd.isna(v) else v for v in got] == _slow_clean(values)


def test_has_byte_and_sliced_chunks():
    arr = pa.chunked_array([pa.array(["ab", "c@d"]), pa.array(["e"])])        # int32 offsets
    assert arrowtext.has_byte(arr, ord("@")) and not arrowtext.has_byte(arr.slice(2), ord("@"))
    assert arrowtext.byte_lengths(arr.slice(1)).tolist() == [3, 1]
    assert arrowtext.plain_ascii(arr.slice(1)) and not arrowtext.plain_ascii(pa.array([" x", "y"]).slice(0, 1))


@pytest.mark.parametrize("values", CASES)
def test_identifier_values_are_found_whatever_the_path(values):
    s = pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))
    objects = pd.Series(values, dtype=object)                # another storage: the general path
    assert privacy.identifier_values(s).tolist() == privacy.identifier_values(objects).tolist()
    expected = np.array([v is not None and ("@" in v or "994" in v) for v in values])
    assert privacy.identifier_values(s).tolist() == expected.tolist()


@pytest.mark.parametrize("values", CASES + [[None, None], ["ab", None, "abc", "xyz"], ["é" * 3, "abcd"]])
def test_longest_value_and_its_row_as_the_length_kernel_gives(values):
    from analytics import readers
    s = pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))
    lengths = pc.utf8_length(pa.array(values, type=pa.large_string()))
    top = pc.max(lengths).as_py()
    want = (0, -1) if top is None else (top, pc.index(lengths, top).as_py())
    assert readers._longest(s) == want


def test_yyyymmdd_dates_read_without_the_loop_equal_the_pattern(monkeypatch):
    values = ["20200115", "20209999", "20200299", "20200230", "00000000", "99999999", "2020011", "２０２００１０１",
              "2020-01-15", "15/01/2020", " 20200115 ", "20200115.0", "", None, "nan", "1999123a", "18000101"]
    s = pd.Series(values * 3, dtype=object)
    fast = parsing.parse_dates(s)
    monkeypatch.setattr(parsing, "_yyyymmdd", lambda u: (np.zeros(len(u), bool), np.zeros(0, np.int64)))
    slow = parsing.parse_dates(s)
    assert fast.values.equals(slow.values)
    assert fast.invalid.tolist() == slow.invalid.tolist() and fast.imputed.tolist() == slow.imputed.tolist()
    assert fast.values.iloc[0] == pd.Timestamp("2020-01-15") and fast.imputed[1] and fast.invalid[3]


COLUMNS = {
    "region codes": ["011", "012", "263"] * 20,
    "streets": ["12 Nizami st", "Baku, Nizami 5", "Ganja 7"] * 20,
    "streets, a few": ["12 Nizami st"] * 5 + ["011"] * 55,
    "phones": ["+994 50 123 45 67", "(012) 345-6789", "050-123-45-67"] * 20,
    "ids of ten digits": [f"{i:010d}" for i in range(60)],
    "e-mails": [f"user{i}@example.org" for i in range(60)],
    "empty and missing": ["", None] * 30,
    "words": ["yes", "no", "n/a"] * 20,
}


@pytest.mark.parametrize("name", sorted(COLUMNS))
@pytest.mark.parametrize("address", [False, True])
def test_identifier_kind_by_content_with_and_without_the_buffer_shortcuts(name, address, monkeypatch):
    s = pd.Series(pd.array(pa.array(COLUMNS[name], type=pa.large_string()), dtype="str"))
    fast = privacy.identifier_by_content(s, address_header=address)
    monkeypatch.setattr(arrowtext, "plain_ascii", lambda arr: False)
    monkeypatch.setattr(arrowtext, "has_byte", lambda arr, b: True)
    assert privacy.identifier_by_content(s, address_header=address) == fast
    want = {"streets": privacy.KIND_ADDRESS if address else None, "phones": privacy.KIND_PHONE,
            "e-mails": privacy.KIND_EMAIL}.get(name)
    assert fast == want


@pytest.mark.parametrize("values", CASES)
def test_region_present_as_stripping_gives(values):
    from analytics import quality, schema
    s = pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))
    want = (s.notna() & (s.astype(str).str.strip() != "")).to_numpy()
    assert quality._present(pd.DataFrame({schema.REGION: s}), schema.REGION).tolist() == want.tolist()
