"""Site groups (CI5-XI detailed list and GLOBOCAN list, data/reference/site_groups.csv)."""
import numpy as np
import pandas as pd
import pytest

from analytics import sites


def test_expand_range_syntax():
    assert sites.expand("C18-21") == ["C18", "C19", "C20", "C21"]
    assert sites.expand("C82-86,C96") == ["C82", "C83", "C84", "C85", "C86", "C96"]
    assert sites.expand("C47,C49") == ["C47", "C49"]
    assert sites.expand("C00") == ["C00"]


def test_site_table_columns_order_and_totals():
    tab = sites.site_table("ci5_detailed")
    assert list(tab.columns) == ["order", "label", "icd10", "sex", "kind"]
    assert list(tab["order"]) == list(range(1, len(tab) + 1))
    assert tab["label"].iloc[0] == "Lip"
    assert list(tab["label"].iloc[-2:]) == [sites.ALL_SITES, sites.ALL_BUT_C44]
    assert (tab.loc[tab["kind"] == "total", "label"].tolist() == [sites.ALL_SITES, sites.ALL_BUT_C44])
    # sex-specific sites as published
    sex = dict(zip(tab["label"], tab["sex"]))
    assert sex["Prostate"] == "male" and sex["Cervix uteri"] == "female" and sex["Breast"] == "both"


def test_label_counts():
    # CI5-XI: 58 groups + Other in the CSV, plus MPD and MDS; GLOBOCAN: 31 groups + Other
    assert len(sites.labels("ci5_detailed")) == 61
    assert len(sites.labels("globocan")) == 32
    assert sites.labels("globocan")[-1] == "Other"
    assert sites.labels("ci5", totals=True)[-2:] == [sites.ALL_SITES, sites.ALL_BUT_C44]


@pytest.mark.parametrize("code,ci5,glob", [
    ("C180", "Colon", "Colorectum"), ("C19", "Rectum", "Colorectum"), ("C20", "Rectum", "Colorectum"),
    ("C211", "Anus", "Colorectum"), ("C509", "Breast", "Breast"), ("C61", "Prostate", "Prostate"),
    ("C479", "Connective and soft tissue", "Other"), ("C499", "Connective and soft tissue", "Other"),
    ("C960", "Non-Hodgkin lymphoma", "Non-Hodgkin lymphoma"), ("C833", "Non-Hodgkin lymphoma", "Non-Hodgkin lymphoma"),
    ("C880", "Immunoproliferative diseases", "Multiple myeloma"), ("C900", "Multiple myeloma", "Multiple myeloma"),
    ("C920", "Myeloid leukaemia", "Leukaemia"), ("C809", "Other", "Other"), ("C17", "Small intestine", "Other"),
    ("C55", "Uterus unspecified", "Other"), ("C445", "Other skin", "Other skin"), ("C435", "Melanoma of skin", "Melanoma of skin"),
    ("C111", "Nasopharynx", "Nasopharynx"), ("C109", "Other oropharynx", "Other pharynx"),
    ("D090", "Bladder", "Bladder"), ("D414", "Bladder", "Bladder"),
    ("D45", sites.MPD, "Other"), ("D462", sites.MDS, "Other"), ("D472", "Other", "Other"),
])
def test_assign(code, ci5, glob):
    assert sites.assign(pd.Series([code]), "ci5_detailed").iloc[0] == ci5
    assert sites.assign(pd.Series([code]), "globocan").iloc[0] == glob


def test_non_counted_and_missing_are_na():
    got = sites.assign(pd.Series(["D303", None, "", "X12"], dtype=object), "ci5")
    assert got.isna().all()


def test_every_icd10_malignant_category_has_one_group():
    codes = [f"C{i:02d}" for i in range(0, 97) if i not in (78, 79)]
    for scheme in ("ci5_detailed", "globocan"):
        got = sites.assign(pd.Series(codes), scheme)
        assert got.notna().all(), [c for c, g in zip(codes, got) if pd.isna(g)]


def test_first_matching_group_wins(tmp_path, monkeypatch):
    csv = tmp_path / "groups.csv"
    csv.write_text("scheme,order,label,icd10,sex\nglobocan,1,A,C18-20,both\nglobocan,2,B,C20-21,both\n")
    monkeypatch.setattr(sites, "SITE_GROUPS_CSV", csv)
    sites._raw.cache_clear(); sites._lookup.cache_clear(); sites._labels.cache_clear()
    try:
        got = sites.assign(pd.Series(["C18", "C20", "C21"]), "globocan").astype(object).tolist()
        assert got == ["A", "A", "B"]
    finally:
        sites._raw.cache_clear(); sites._lookup.cache_clear(); sites._labels.cache_clear()


def test_in_group_totals():
    codes = pd.Series(["C509", "C445", "D090", "D303", None], dtype=object)
    assert sites.in_group(codes, sites.ALL_SITES).tolist() == [True, True, True, False, False]
    assert sites.in_group(codes, sites.ALL_BUT_C44).tolist() == [True, False, True, False, False]
    assert sites.in_group(codes, "Breast").tolist() == [True, False, False, False, False]


def test_assign_is_ordered_categorical_and_vectorised():
    codes = pd.Series(np.repeat(["C509", "C61", "C180"], 1000))
    got = sites.assign(codes, "ci5")
    assert isinstance(got.dtype, pd.CategoricalDtype) and got.cat.ordered
    assert got.value_counts().loc[["Breast", "Prostate", "Colon"]].tolist() == [1000, 1000, 1000]


def test_unknown_scheme_message():
    with pytest.raises(ValueError, match="Unknown site-group scheme"):
        sites.site_table("icd9")
