"""Record checks (IARC/IACR checks), reconciliation and data-quality indicators.

Every check has a failing and a passing record. Indicator values are hand counts.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import derive, quality, schema

TODAY = pd.Timestamp("2025-01-01")


def rec(**kw):
    base = {
        schema.TUMOUR_ID: "T1", schema.PATIENT_ID: "P1", schema.SEX: 2,
        schema.BIRTH_DATE: pd.Timestamp("1960-06-15"), schema.INCIDENCE_DATE: pd.Timestamp("2020-03-01"),
        schema.AGE: pd.NA, schema.TOPOGRAPHY: "C509", schema.MORPHOLOGY: "8500",
        schema.BEHAVIOUR: 3, schema.BASIS: 7, schema.REGION: "R1", schema.VITAL_STATUS: 1,
        schema.LAST_CONTACT: pd.Timestamp("2022-01-01"),
    }
    base.update(kw)
    return base


def frame(*rows):
    df = pd.DataFrame(list(rows))
    for col, dt in [(schema.SEX, "Int8"), (schema.AGE, "Int16"), (schema.BEHAVIOUR, "Int8"),
                    (schema.BASIS, "Int8"), (schema.VITAL_STATUS, "Int8")]:
        df[col] = pd.array(df[col], dtype=dt)
    for col in (schema.BIRTH_DATE, schema.INCIDENCE_DATE, schema.LAST_CONTACT):
        df[col] = pd.to_datetime(df[col])
    for col in (schema.TUMOUR_ID, schema.PATIENT_ID, schema.TOPOGRAPHY, schema.MORPHOLOGY, schema.REGION):
        df[col] = df[col].astype("str")
    df[schema.ROW] = np.arange(1, len(df) + 1)
    return df


def run_checks(df, **kw):
    return quality.check_records(derive.derive(df), today=TODAY, **kw)


def checks_of(df, **kw):
    return set(run_checks(df, **kw)["check"].astype(str))


def test_clean_record_has_no_flags():
    flags = run_checks(frame(rec()))
    assert len(flags) == 0
    assert list(flags.columns) == schema.FLAG_COLUMNS


# (check id, failing record, passing record)
CASES = [
    ("sex_invalid", dict(sex=3), dict(sex=2)),
    ("topography_missing", dict(topography=None), dict(topography="C509")),
    ("topography_invalid", dict(topography="C999"), dict(topography="C508")),
    ("morphology_missing", dict(morphology=None), dict(morphology="8500")),
    ("morphology_invalid", dict(morphology="7000"), dict(morphology="8520")),
    ("behaviour_missing", dict(behaviour=pd.NA), dict(behaviour=3)),
    ("behaviour_invalid", dict(behaviour=5), dict(behaviour=3)),
    ("basis_invalid", dict(basis=12), dict(basis=5)),
    ("incidence_date_missing", dict(incidence_date=pd.NaT, age=59), dict(incidence_date=pd.Timestamp("2020-03-01"))),
    ("incidence_date_too_early", dict(incidence_date=pd.Timestamp("1895-01-01"), birth_date=pd.Timestamp("1850-01-01")),
     dict(incidence_date=pd.Timestamp("1995-01-01"), birth_date=pd.Timestamp("1950-01-01"))),
    ("incidence_date_future", dict(incidence_date=pd.Timestamp("2026-01-01"), last_contact_date=pd.NaT),
     dict(incidence_date=pd.Timestamp("2024-12-31"), last_contact_date=pd.NaT)),
    ("birth_date_future", dict(birth_date=pd.Timestamp("2030-01-01")), dict(birth_date=pd.Timestamp("1930-01-01"))),
    ("birth_after_incidence", dict(birth_date=pd.Timestamp("2020-03-02")), dict(birth_date=pd.Timestamp("2020-03-01"))),
    ("age_out_of_range", dict(age=130, birth_date=pd.NaT), dict(age=120, birth_date=pd.NaT)),
    ("age_date_mismatch", dict(age=62), dict(age=60)),      # dates give 59: 62 is off by 3, 60 by 1
    ("sex_site", dict(sex=1, topography="C539", morphology="8070"), dict(sex=2, topography="C539", morphology="8070")),
    ("sex_site", dict(sex=2, topography="C619", morphology="8140"), dict(sex=1, topography="C619", morphology="8140")),
    ("sex_morphology", dict(sex=2, topography="C809", morphology="9061"), dict(sex=1, topography="C809", morphology="9061")),
    ("sex_morphology", dict(sex=1, topography="C809", morphology="8930"), dict(sex=2, topography="C809", morphology="8930")),
    ("behaviour_site", dict(topography="C809", morphology="8010", behaviour=2), dict(topography="C509", morphology="8010", behaviour=2)),
    ("behaviour_site", dict(topography="C711", morphology="8010", behaviour=2), dict(topography="C711", morphology="8010", behaviour=3)),
    ("behaviour_morphology", dict(topography="C421", morphology="9823", behaviour=2), dict(topography="C421", morphology="9823", behaviour=3)),
    ("behaviour_morphology", dict(topography="C509", morphology="8800", behaviour=2), dict(topography="C509", morphology="8500", behaviour=2)),
    ("icd10_unconvertible", dict(topography="C421", morphology="9780"), dict(topography="C421", morphology="9823")),
    ("sex_unknown", dict(sex=9), dict(sex=1, topography="C509")),
    ("sex_unknown", dict(sex=pd.NA), dict(sex=2)),
    ("age_unknown", dict(birth_date=pd.NaT), dict(birth_date=pd.NaT, age=59)),
    ("basis_unknown", dict(basis=9), dict(basis=1)),
    ("basis_unknown", dict(basis=pd.NA), dict(basis=7)),
    ("last_contact_before_incidence", dict(last_contact_date=pd.Timestamp("2020-02-29")),
     dict(last_contact_date=pd.Timestamp("2020-03-01"))),
    ("last_contact_future", dict(last_contact_date=pd.Timestamp("2025-01-02")), dict(last_contact_date=pd.Timestamp("2025-01-01"))),
    ("site_morphology", dict(topography="C509", morphology="9823"), dict(topography="C421", morphology="9823")),
    ("site_morphology", dict(topography="C341", morphology="8170"), dict(topography="C220", morphology="8170")),
    ("site_morphology", dict(topography="C509", morphology="8330"), dict(topography="C739", morphology="8330")),
    ("site_morphology", dict(topography="C779", morphology="8140"), dict(topography="C779", morphology="9680")),
    ("site_morphology", dict(topography="C421", morphology="8140"), dict(topography="C421", morphology="8000")),
    ("site_morphology", dict(topography="C341", morphology="9050"), dict(topography="C384", morphology="9050")),
    ("site_morphology", dict(topography="C509", morphology="8090"), dict(topography="C445", morphology="8090")),
    ("basis_morphology", dict(basis=0, morphology="8500"), dict(basis=0, morphology="8000")),
    ("age_site_morphology", dict(topography="C692", morphology="9510", age=30, birth_date=pd.NaT),
     dict(topography="C692", morphology="9510", age=2, birth_date=pd.NaT)),
    ("age_site_morphology", dict(topography="C220", morphology="8970", age=40, birth_date=pd.NaT),
     dict(topography="C220", morphology="8970", age=1, birth_date=pd.NaT)),
    ("age_site_morphology", dict(sex=1, topography="C619", morphology="8140", age=10, birth_date=pd.NaT),
     dict(sex=1, topography="C619", morphology="8140", age=70, birth_date=pd.NaT)),
    ("region_missing", dict(region_code=None), dict(region_code="R2")),
]


@pytest.mark.parametrize("check,bad,good", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_check_fails_and_passes(check, bad, good):
    assert check in checks_of(frame(rec(**bad))), f"{check} should fire"
    assert check not in checks_of(frame(rec(**good))), f"{check} should not fire"


def test_every_check_has_a_case():
    covered = {c[0] for c in CASES} | {"tumour_id_duplicate", "duplicate_tumour", "multiple_primary_rule",
                                       "region_unknown"}
    assert covered == {c.id for c in quality.CHECKS}


def test_region_not_in_the_regions_table_is_a_warning_with_its_own_reconciliation_line():
    """Issue 9: ADDR=AZE-9999 (no such district) is flagged, counted nationally, and the
    reconciliation says so on its own line; without a regions table nothing is judged."""
    df = frame(rec(), rec(tumour_id="T2", patient_id="P2", region_code="AZE-9999"),
               rec(tumour_id="T3", patient_id="P3", region_code="AZE-9999", sex=3),     # excluded anyway
               rec(tumour_id="T4", patient_id="P4", region_code=None))
    flags = run_checks(df, regions=["R1", "R2"])
    hit = flags[flags["check"] == "region_unknown"]
    assert hit[schema.ROW].tolist() == [2, 3] and set(hit["severity"].astype(str)) == {"warning"}
    assert "region_unknown" not in checks_of(df)                      # no regions table: no judgement
    out, recon = quality.reconcile(derive.derive(df), flags)
    lines = {(r.status, r.reason): r.records for r in recon.itertuples()}
    assert lines == {("used", "used"): 2, ("used", "region_unknown"): 1, ("excluded", "sex_invalid"): 1}
    assert out[schema.INCLUDED].tolist() == [True, True, False, True]   # still counted (nationally)
    assert recon["records"].sum() == len(df)
    table = quality.unknown_regions(out, flags)
    assert table.to_dict("records") == [{schema.REGION: "AZE-9999", "records": 2}]


def test_tumour_id_duplicate_flags_the_second_occurrence():
    flags = run_checks(frame(rec(), rec(patient_id="P2")))
    hit = flags[flags["check"] == "tumour_id_duplicate"]
    assert hit[schema.ROW].tolist() == [2]
    assert "tumour_id_duplicate" not in checks_of(frame(rec(), rec(tumour_id="T2", patient_id="P2")))


def test_probable_duplicate_window_and_histology_group():
    first = rec()
    dup = rec(tumour_id="T2", topography="C504", morphology="8520",            # same C50, adenocarcinoma group
              incidence_date=pd.Timestamp("2020-04-15"))
    flags = run_checks(frame(first, dup))
    assert flags.loc[flags["check"] == "duplicate_tumour", schema.ROW].tolist() == [2]
    assert flags.loc[flags["check"] == "duplicate_tumour", "severity"].astype(str).tolist() == ["error"]
    # passing: outside the 91-day window, a different histology group, or another patient
    later = dict(dup, incidence_date=pd.Timestamp("2020-06-01"))
    assert "duplicate_tumour" not in checks_of(frame(first, later))
    assert "duplicate_tumour" not in checks_of(frame(first, dict(dup, morphology="8070")))
    assert "duplicate_tumour" not in checks_of(frame(first, dict(dup, patient_id="P9")))
    # configurable window
    assert "duplicate_tumour" in checks_of(frame(first, later), duplicate_window_days=100)
    # beyond the window: counted, with the multiple-primary warning on the later record only
    flags = run_checks(frame(first, later))
    mp = flags[flags["check"] == "multiple_primary_rule"]
    assert mp[schema.ROW].tolist() == [2] and mp["severity"].astype(str).tolist() == ["warning"]
    assert "multiple_primary_rule" not in checks_of(frame(first, dict(later, morphology="8070")))
    assert "multiple_primary_rule" not in checks_of(frame(first, dict(later, topography="C180", morphology="8140")))


def test_flag_fields():
    flags = run_checks(frame(rec(sex=3, tumour_id="ABC123", region_code=None)))
    assert set(flags["check"].astype(str)) == {"sex_invalid", "region_missing"}
    row = flags[flags["check"] == "sex_invalid"].iloc[0]
    assert row[schema.ROW] == 1 and row[schema.TUMOUR_ID] == "ABC123"
    assert row["severity"] == schema.ERROR and row["column"] == schema.SEX
    assert flags.loc[flags["check"] == "region_missing", "severity"].iloc[0] == schema.WARNING
    for msg in flags["message"].astype(str):
        assert "ABC123" not in msg and "_" not in msg and msg.endswith(".")


def test_missing_columns_are_flagged_not_crashing():
    df = pd.DataFrame({schema.TOPOGRAPHY: ["C509"], schema.MORPHOLOGY: ["8500"], schema.ROW: [1]})
    got = set(quality.check_records(derive.derive(df), today=TODAY)["check"].astype(str))
    assert {"behaviour_missing", "incidence_date_missing", "sex_unknown", "age_unknown"} <= got


# --- reconciliation -----------------------------------------------------------------------
def reconciled(df):
    d = derive.derive(df)
    flags = quality.check_records(d, today=TODAY)
    out, recon = quality.reconcile(d, flags)
    return out, recon, flags


def test_reconciliation_is_exact_with_one_primary_reason():
    df = frame(
        rec(),                                                              # used
        rec(tumour_id="T2", patient_id="P2", sex=3, topography="C999"),    # two errors: sex first
        rec(tumour_id="T3", patient_id="P3", topography="C999"),           # topography
        rec(tumour_id="T4", patient_id="P4", behaviour=0, topography="C679", morphology="8120"),  # benign: not counted
        rec(tumour_id="T5", patient_id="P5", behaviour=2, topography="C679", morphology="8120"),  # D09.0: counted
        rec(tumour_id="T6", patient_id="P6", sex=9),                       # warning only: used
    )
    out, recon, flags = reconciled(df)
    assert out[schema.INCLUDED].tolist() == [True, False, False, False, True, True]
    s = quality.summary(recon)
    assert s == {"n_read": 6, "n_used": 3, "n_excluded": 3}
    by = dict(zip(recon["reason"], recon["records"]))
    assert by == {"used": 3, "sex_invalid": 1, "topography_invalid": 1, quality.NOT_COUNTED: 1}
    # all flags kept: record 2 keeps both errors
    assert set(flags.loc[flags[schema.ROW] == 2, "check"].astype(str)) >= {"sex_invalid", "topography_invalid"}
    assert recon.loc[recon["reason"] == quality.NOT_COUNTED, "severity"].iloc[0] == "not counted"


def test_reasons_from_other_stages_come_first():
    d = derive.derive(frame(rec(sex=3)))
    flags = quality.check_records(d, today=TODAY)
    extra = pd.DataFrame({schema.ROW: [1], schema.TUMOUR_ID: ["T1"], "check": ["date_unparseable"],
                          "severity": ["error"], "column": ["incidence_date"],
                          "message": ["The incidence date could not be read."]})
    _, recon = quality.reconcile(d, pd.concat([flags.astype(object), extra], ignore_index=True))
    assert recon["reason"].tolist() == ["used", "date_unparseable"]
    assert recon["description"].iloc[1] == "The incidence date could not be read."


def test_first_primary_moves_to_next_tumour_when_first_is_excluded():
    df = frame(rec(tumour_id="A", age=70),                                  # age mismatch: excluded
               rec(tumour_id="B", incidence_date=pd.Timestamp("2021-05-01")),
               rec(tumour_id="C", patient_id="P2"))
    out, _, _ = reconciled(df)
    assert out[schema.INCLUDED].tolist() == [False, True, True]
    assert out[schema.FIRST_PRIMARY].tolist() == [False, True, True]


def test_empty_frame():
    out, recon, flags = reconciled(frame(rec()).iloc[:0])
    assert len(flags) == 0 and quality.summary(recon) == {"n_read": 0, "n_used": 0, "n_excluded": 0}


codes = st.sampled_from(["C509", "C619", "C999", None, "C421", "C809", "C679", "C539"])
morphs = st.sampled_from(["8500", "8140", "9823", "9780", None, "7000", "8000", "9061", "8120"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(codes, morphs, st.sampled_from([0, 1, 2, 3, 5, None]),
                          st.sampled_from([1, 2, 3, 9, None]), st.sampled_from([0, 5, 7, 9, 12, None]),
                          st.integers(-5, 130), st.sampled_from(["P1", "P2", "P3", None])),
                min_size=1, max_size=25))
def test_reconciliation_property(rows):
    df = frame(*[rec(tumour_id=f"T{i}", topography=t, morphology=m,
                     behaviour=pd.NA if b is None else b, sex=pd.NA if s is None else s,
                     basis=pd.NA if ba is None else ba, age=a, birth_date=pd.NaT, patient_id=p)
                 for i, (t, m, b, s, ba, a, p) in enumerate(rows)])
    out, recon, flags = reconciled(df)
    assert recon["records"].sum() == len(df)
    err_rows = set(flags.loc[flags["severity"] == "error", schema.ROW])
    inc = out[schema.INCLUDED].to_numpy()
    assert not any(r in err_rows for r in out.loc[inc, schema.ROW])
    assert quality.summary(recon)["n_used"] == inc.sum()


# --- indicators ---------------------------------------------------------------------------
def ind_records():
    # 10 included records, hand-counted below
    rows = [
        rec(tumour_id="1", sex=1, topography="C619", morphology="8140", basis=7),
        rec(tumour_id="2", sex=1, topography="C619", morphology="8140", basis=5),
        rec(tumour_id="3", sex=1, topography="C619", morphology="8000", basis=0),
        rec(tumour_id="4", sex=1, topography="C349", morphology="8070", basis=1, birth_date=pd.NaT),
        rec(tumour_id="5", sex=2, topography="C509", morphology="8500", basis=8),
        rec(tumour_id="6", sex=2, topography="C509", morphology="8500", basis=2),
        rec(tumour_id="7", sex=2, topography="C809", morphology="8000", basis=0),
        rec(tumour_id="8", sex=2, topography="C760", morphology="8000", basis=9),
        rec(tumour_id="9", sex=9, topography="C349", morphology="8070", basis=6),
        rec(tumour_id="10", sex=2, topography="C509", morphology="8500", basis=7, behaviour=2),  # not counted
    ]
    df = frame(*[dict(r, patient_id=r[schema.TUMOUR_ID]) for r in rows])
    out, _, _ = reconciled(df)
    return out


def test_indicators_overall_hand_counts():
    res = quality.indicators(ind_records(), by=())
    v = dict(zip(res["indicator"], res["value"]))
    n = dict(zip(res["indicator"], res["count"]))
    assert (res["total"] == 9).all()
    assert n["mv_pct"] == 4 and v["mv_pct"] == pytest.approx(400 / 9)     # basis 7,5,8,6
    assert n["dco_pct"] == 2 and v["dco_pct"] == pytest.approx(200 / 9)
    assert n["clinical_pct"] == 2                                          # basis 1, 2
    assert n["unknown_basis_pct"] == 1
    assert n["unknown_age_pct"] == 1
    assert n["unknown_sex_pct"] == 1
    assert n["c80_pct"] == 1 and n["c76_c80_pct"] == 2
    assert "mi_ratio" not in v


def test_indicators_by_sex():
    res = quality.indicators(ind_records(), by=(schema.SEX,))
    men = res[(res[schema.SEX] == 1)].set_index("indicator")
    women = res[(res[schema.SEX] == 2)].set_index("indicator")
    assert men.loc["mv_pct", "value"] == pytest.approx(50.0)             # 2 of 4
    assert men.loc["dco_pct", "value"] == pytest.approx(25.0)
    assert women.loc["mv_pct", "total"] == 4 and women.loc["mv_pct", "count"] == 1
    assert women.loc["c76_c80_pct", "value"] == pytest.approx(50.0)
    assert list(res.columns) == [schema.SEX, "indicator", "label", "count", "total", "value", "unit"]


def test_mortality_incidence_ratio():
    deaths = pd.DataFrame({schema.YEAR: [2020, 2020, 2019], schema.SEX: [1, 2, 1],
                           schema.AGE_GROUP: ["60-64"] * 3, schema.REGION: ["R1"] * 3,
                           schema.ICD10: ["C61", "C50.9", "C61"], schema.COUNT: [1, 2, 50]})
    res = quality.indicators(ind_records(), by=(schema.SITE_CI5,), deaths=deaths)
    mi = res[res["indicator"] == "mi_ratio"].set_index(schema.SITE_CI5)
    # 2019 deaths are outside the incidence years and are left out
    assert mi.loc["Prostate", "value"] == pytest.approx(1 / 3)
    assert mi.loc["Breast", "value"] == pytest.approx(2 / 2)
    assert mi.loc["Lung (incl. trachea and bronchus)", "value"] == 0


def test_indicators_unknown_by_column_message():
    with pytest.raises(ValueError, match="not in the records"):
        quality.indicators(ind_records(), by=("district",))


def test_targets_table():
    tab = quality.targets()
    assert set(tab["indicator"]) == set(quality.INDICATORS)
    mv = tab.set_index("indicator").loc["mv_pct"]
    dco = tab.set_index("indicator").loc["dco_pct"]
    assert mv["direction"] == "higher" and mv["good"] == 90 and mv["acceptable"] == 80
    assert dco["direction"] == "lower" and dco["good"] == 5 and dco["acceptable"] == 10
    assert tab["source"].str.contains("Eur J Cancer 2009;45:747").all()


def test_non_numeric_codes_are_invalid_not_missing():
    df = frame(rec())
    df[schema.BEHAVIOUR] = pd.Series(["x"], dtype=object)
    df[schema.SEX] = pd.Series(["F"], dtype=object)
    got = checks_of(df)
    assert {"behaviour_invalid", "sex_invalid"} <= got
    assert not {"behaviour_missing", "sex_unknown"} & got


def test_non_default_index_in_checks_and_reconcile():
    df = frame(rec(), rec(tumour_id="T2", patient_id="P2", sex=3), rec(tumour_id="T3", patient_id="P3"))
    df.index = [30, 10, 20]
    out, recon, flags = reconciled(df)
    assert flags.loc[flags["check"] == "sex_invalid", schema.ROW].tolist() == [2]
    assert out[schema.INCLUDED].tolist() == [True, False, True]


# --- translated messages (data/i18n/{en,az,ru}/quality.json) ----------------------------------
def test_every_check_and_reason_has_a_message_in_every_language():
    import re
    from analytics import i18n, readers
    i18n.reload_catalogues()
    reader_ids = {readers.CHECK_UNPARSEABLE_DATE, readers.CHECK_INVALID_CODE, readers.CHECK_AGE_UNKNOWN_99,
                  readers.CHECK_DATE_IMPUTED, readers.CHECK_IDENTIFIER_VALUE,
                  *readers.READER_EXCLUSION_REASONS, *readers.ASSUMPTIONS}
    assert reader_ids == set(quality.READER_CHECK_IDS)       # a new reader check needs its texts
    ids = list(quality.check_table()["id"]) + list(quality.READER_CHECK_IDS)
    cyr = re.compile(r"[\u0400-\u04FF]")
    for cid in ids:
        en, az, ru = (quality.check_message(cid, lang) for lang in ("en", "az", "ru"))
        for lang in ("en", "az", "ru"):
            assert i18n.has_key(f"quality.check.{cid}", lang), (lang, cid)
        assert len({en, az, ru}) == 3 and not cyr.search(az) and cyr.search(ru), cid
    # English is the message the checks write into the flags
    for c in quality.CHECKS:
        assert quality.check_message(c.id, "en") == c.message.replace("the duplicate window", "91 days")
    for r in (quality.USED, quality.NOT_COUNTED):
        assert len({quality.reason_description(r, lang) for lang in ("en", "az", "ru")}) == 3
    assert quality.check_message("duplicate_tumour", "ru", days=30).count("30 дней") == 1
    assert quality.check_message("no_such_check", "az") == "no_such_check"
    assert quality.check_table("ru")["message"].str.contains(cyr).all()


def test_translated_reconciliation_and_flags_keep_ids_and_counts():
    df = frame(rec(), rec(tumour_id="T2", patient_id="P2", sex=3),
               rec(tumour_id="T3", patient_id="P3", behaviour=0, topography="C679", morphology="8120"),
               rec(tumour_id="T4", patient_id="P4", basis=9))
    out, recon, flags = reconciled(df)
    ru = quality.translate_reconciliation(recon, "ru", assumptions=["morphology_assumed"])
    assert ru["records"].tolist() == recon["records"].tolist() and ru["reason"].tolist() == recon["reason"].tolist()
    by = dict(zip(ru["reason"], ru["description"]))
    assert by["sex_invalid"] == "Пол не равен 1 (мужской), 2 (женский) или 9 (неизвестен)."
    assert by["used"].endswith("морфология прочитана как 8000 (новообразование БДУ).")
    assert set(ru["status"]) == {"Учтено", "Исключено"}
    az = quality.translate_flags(flags, "az")
    assert az["check"].astype(str).tolist() == flags["check"].astype(str).tolist()
    assert dict(zip(az["check"].astype(str), az["message"]))["basis_unknown"] == "Diaqnozun əsası məlum deyil."
    assert set(az["severity"]) == {"Xəta", "Xəbərdarlıq"}
    assert quality.translate_flags(flags, "en") is flags


def test_age_checks_from_years_equal_the_full_date_comparison():
    """quality._age_checks reads month and day only where the years cannot decide: the same
    masks as comparing every recorded age with derive.age_from_dates."""
    rng = np.random.default_rng(7)
    n = 5000
    birth = (np.datetime64("1930-01-01") + rng.integers(0, 30000, n).astype("timedelta64[D]")).astype("datetime64[ns]")
    inc = (birth + rng.integers(-400, 40000, n).astype("timedelta64[D]")).astype("datetime64[ns]")
    birth[rng.random(n) < 0.05] = np.datetime64("NaT")
    inc[rng.random(n) < 0.05] = np.datetime64("NaT")
    computed = derive.age_from_dates(pd.Series(birth), pd.Series(inc))
    age = np.where(np.isnan(computed), rng.integers(0, 99, n), computed) + rng.integers(-3, 4, n)
    age = np.where(rng.random(n) < 0.1, np.nan, age).astype(float)
    age[:3] = [-999.0, 0.5, 130.0]                   # a given but unreadable age, a fraction, out of range
    comparable = rng.random(n) < 0.9
    mismatch, unknown, eff = quality._age_checks(age, birth, inc, comparable)
    known = ~np.isnan(age)
    assert mismatch.tolist() == (known & ~np.isnan(computed) & comparable & (np.abs(age - computed) > 1)).tolist()
    assert unknown.tolist() == (~known & np.isnan(computed)).tolist()
    assert np.array_equal(eff, np.where(known, age, computed), equal_nan=True)
    assert mismatch.sum() > 100 and unknown.sum() > 10
