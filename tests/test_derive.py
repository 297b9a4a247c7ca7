"""Derived columns: age (completed years), age groups, year, ICD-10, site groups, first primary."""
import numpy as np
import pandas as pd
import pytest

from analytics import derive, schema


def rec(**kw):
    base = {
        schema.TUMOUR_ID: "T1", schema.PATIENT_ID: "P1", schema.SEX: 2,
        schema.BIRTH_DATE: pd.Timestamp("1960-06-15"), schema.INCIDENCE_DATE: pd.Timestamp("2020-03-01"),
        schema.AGE: pd.NA, schema.TOPOGRAPHY: "C509", schema.MORPHOLOGY: "8500",
        schema.BEHAVIOUR: 3, schema.BASIS: 7, schema.REGION: "R1",
    }
    base.update(kw)
    return base


def frame(*rows):
    df = pd.DataFrame(list(rows))
    df[schema.SEX] = df[schema.SEX].astype("Int8")
    df[schema.AGE] = pd.array(df[schema.AGE], dtype="Int16")
    df[schema.BEHAVIOUR] = df[schema.BEHAVIOUR].astype("Int8")
    df[schema.ROW] = np.arange(1, len(df) + 1)
    return df


@pytest.mark.parametrize("birth,inc,age", [
    ("1960-06-15", "2020-06-14", 59),   # day before the birthday
    ("1960-06-15", "2020-06-15", 60),   # on the birthday
    ("1960-06-15", "2020-06-16", 60),
    ("2000-02-29", "2021-02-28", 20),   # leap-day birthday: not yet 21 on 28 February
    ("2000-02-29", "2021-03-01", 21),
    ("2020-01-01", "2020-12-31", 0),
])
def test_age_from_dates_completed_years(birth, inc, age):
    got = derive.age_from_dates(pd.Series([pd.Timestamp(birth)]), pd.Series([pd.Timestamp(inc)]))
    assert got[0] == age


def test_age_filled_only_when_missing():
    df = frame(rec(), rec(tumour_id="T2", age=61), rec(tumour_id="T3", birth_date=pd.NaT))
    out = derive.derive(df)
    assert out[schema.AGE].tolist()[:2] == [59, 61]     # 61 kept as recorded (checks flag mismatches)
    assert pd.isna(out[schema.AGE].iloc[2])


@pytest.mark.parametrize("age,group,start", [
    (0, "0-4", 0), (4, "0-4", 0), (5, "5-9", 5), (59, "55-59", 55), (84, "80-84", 80),
    (85, "85+", 85), (101, "85+", 85),
])
def test_age_groups_default(age, group, start):
    out = derive.derive(frame(rec(age=age)))
    assert out[schema.AGE_GROUP].iloc[0] == group
    assert out[schema.AGE_START].iloc[0] == start


def test_age_groups_configurable_top():
    g, s = derive.age_groups(pd.Series([79, 80, 95]), top_age=80)
    assert g.astype(object).tolist() == ["75-79", "80+", "80+"]
    assert list(g.cat.categories) == schema.age_group_labels(80)
    assert s.tolist() == [75, 80, 80]


def test_age_groups_impossible_ages_are_na():
    g, s = derive.age_groups(pd.Series([-1, 130, None], dtype="Float64"))
    assert g.isna().all() and s.isna().all()


def test_year_icd10_and_sites():
    out = derive.derive(frame(rec(), rec(tumour_id="T2", topography="C619", morphology="8140", sex=1),
                              rec(tumour_id="T3", topography="C421", morphology="9823")))
    assert out[schema.YEAR].tolist() == [2020, 2020, 2020]
    assert out[schema.ICD10].astype(object).tolist() == ["C509", "C61", "C911"]
    assert out[schema.SITE_CI5].astype(object).tolist() == ["Breast", "Prostate", "Lymphoid leukaemia"]
    assert out[schema.SITE_GLOBOCAN].astype(object).tolist() == ["Breast", "Prostate", "Leukaemia"]


def test_benign_gets_topography_site_but_is_not_first_primary():
    out = derive.derive(frame(rec(topography="C710", morphology="9530", behaviour=0)))
    assert out[schema.ICD10].iloc[0] == "D330"
    assert out[schema.SITE_CI5].iloc[0] == "Brain, nervous system"
    assert not out[schema.FIRST_PRIMARY].iloc[0]


def test_first_primary_earliest_date_and_ties_by_tumour_id():
    df = frame(
        rec(tumour_id="B", incidence_date=pd.Timestamp("2019-05-01")),
        rec(tumour_id="A", incidence_date=pd.Timestamp("2019-05-01")),     # tie: A wins
        rec(tumour_id="C", incidence_date=pd.Timestamp("2018-01-01"), topography="C180", morphology="8140"),
        rec(tumour_id="D", incidence_date=pd.Timestamp("2020-01-01"), topography="C189", morphology="8140"),
        rec(tumour_id="E", patient_id="P2"),
        rec(tumour_id="F", patient_id=None), rec(tumour_id="G", patient_id=None),
    )
    out = derive.derive(df)
    assert out[schema.FIRST_PRIMARY].tolist() == [False, True, True, False, True, True, True]


def test_missing_and_all_na_columns_are_tolerated():
    df = pd.DataFrame({schema.TOPOGRAPHY: ["C509", None], schema.MORPHOLOGY: ["8500", "8140"],
                       schema.BEHAVIOUR: [3, 3], schema.INCIDENCE_DATE: [pd.NaT, pd.NaT],
                       schema.AGE: [pd.NA, pd.NA], schema.ROW: [1, 2]})
    out = derive.derive(df)
    for col in [schema.YEAR, schema.AGE_GROUP, schema.AGE_START, schema.ICD10, schema.SITE_CI5,
                schema.SITE_GLOBOCAN, schema.FIRST_PRIMARY]:
        assert col in out.columns
    assert out[schema.ICD10].iloc[0] == "C509" and pd.isna(out[schema.ICD10].iloc[1])
    assert out[schema.YEAR].isna().all()


def test_input_not_modified():
    df = frame(rec())
    before = df.copy()
    derive.derive(df)
    pd.testing.assert_frame_equal(df, before)


def test_non_default_index_is_respected():
    df = frame(rec(tumour_id="A", topography="C619", morphology="8140", sex=1),
               rec(tumour_id="B"), rec(tumour_id="C", topography="C180", morphology="8140"))
    df.index = [10, 5, 7]
    out = derive.derive(df)
    assert list(out.index) == [10, 5, 7]
    assert out[schema.SITE_CI5].astype(object).tolist() == ["Prostate", "Breast", "Colon"]
    assert out[schema.FIRST_PRIMARY].tolist() == [True, True, True]


def _arrow_str(values):
    import pyarrow as pa
    return pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))


@pytest.mark.parametrize("values", [
    ["a", "a", "b", "c", "c", "c", "d"],            # sorted: codes from adjacent comparisons
    ["c", "a", "c", "b", "a", "d", "b"],            # unsorted: Arrow's hash
    ["a", None, "a", "b"],                          # missing values: the hash, -1 for missing
    ["", "", "x"],                                  # the empty string is a value
    ["z"],
])
def test_factorize_ids_gives_first_appearance_codes_sorted_or_not(values):
    codes = derive.factorize_ids(_arrow_str(values))
    want = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)[0]
    assert codes.tolist() == want.tolist()
    given = codes >= 0                              # missing ids are never duplicates of each other
    assert (derive.repeated(codes) & given).tolist() == (pd.Series(codes).duplicated(keep="first") & given).tolist()


def _first_primary_by_sort(pid, site, date, tid, eligible):
    """Reference: sort each (patient, site) group by date then tumour id; the first eligible row wins."""
    df = pd.DataFrame({"p": pid, "s": site, "d": date, "t": tid, "e": eligible, "i": np.arange(len(pid))})
    df = df[df["e"] & df["s"].notna()]
    df = df.assign(p=df["p"].where(df["p"].notna(), "row" + df["i"].astype(str)))
    first = df.sort_values(["p", "s", "d", "t"], na_position="last", kind="stable").drop_duplicates(["p", "s"])
    out = np.zeros(len(pid), bool)
    out[first["i"].to_numpy()] = True
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_primary_equals_a_sort_on_shuffled_and_sorted_patients(seed):
    rng = np.random.default_rng(seed)
    n = 400
    full = np.array([f"P{v:03d}" for v in rng.integers(0, 150, n)], dtype=object)   # many with several tumours
    gaps = full.copy()
    gaps[rng.random(n) < 0.03] = None                           # a missing id: the tumour is its own patient
    site = pd.Categorical(rng.choice(["Breast", "Lung", "Colon", None], n))
    date = pd.Series(pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D"))
    date[rng.random(n) < 0.05] = pd.NaT                        # unknown dates come last
    tid = np.array([f"T{v:04d}" for v in rng.permutation(n)], dtype=object)
    elig = rng.random(n) < 0.9
    # hashed ids (shuffled, with gaps), then ids sorted without gaps (adjacent comparisons)
    for pid, order, fast in ((gaps, np.arange(n), False), (full, np.argsort(full.astype(str), kind="stable"), True)):
        p = _arrow_str(pid[order].tolist())
        assert (derive._sorted_codes(p.array._pa_array.combine_chunks()) is not None) == fast
        got = derive.first_primary(p, site[order], date.iloc[order].reset_index(drop=True),
                                   pd.Series(tid[order]), eligible=elig[order])
        want = _first_primary_by_sort(pid[order], site[order], date.iloc[order].to_numpy(), tid[order], elig[order])
        assert got.tolist() == want.tolist()
