"""analytics.prevalence against R on 120 random registries (tests/reference/prevalence/
make_prevalence.R): counts of the counting method (with and without the Kaplan-Meier adjustment
for people lost to follow-up, survival::survfit), Wilson limits (prop.test) and Tiwari limits
of the age-standardised proportion (written out in R)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import schema as S
from analytics.prevalence import prevalence
from reference_r import assert_close, read

SEGI = [12000, 10000, 9000, 9000, 8000, 8000, 6000, 6000, 6000, 6000, 5000, 4000, 4000, 3000, 2000, 1000, 500, 500]
LABELS = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]


def _records(raw: pd.DataFrame) -> pd.DataFrame:
    r = raw.copy()
    for c in (S.BIRTH_DATE, S.INCIDENCE_DATE, S.LAST_CONTACT):
        r[c] = pd.to_datetime(r[c], unit="D")
    r[S.PATIENT_ID] = r["case"].astype(str) + "_" + pd.Series(np.arange(len(r)), index=r.index).astype(str)
    r[S.TUMOUR_ID] = r[S.PATIENT_ID]
    r[S.SITE_CI5] = "S" + r["case"].astype(str)
    r[S.FIRST_PRIMARY] = True
    r[S.INCLUDED] = True
    r[S.SEX] = r[S.SEX].astype("Int8")
    r[S.VITAL_STATUS] = r[S.VITAL_STATUS].astype("Int8")
    r[S.AGE] = r[S.AGE].astype("Int16")
    r[S.YEAR] = r[S.INCIDENCE_DATE].dt.year.astype("Int16")
    return r


@pytest.mark.parametrize("adjust", [False, True])
def test_prevalence_matches_r(adjust):
    ref = read("prevalence", "prevalence_expected.csv")
    ref = ref[ref["adjust_lost"] == adjust].astype({"duration": str})
    cases = set(ref["case"])
    recs = _records(read("prevalence", "prevalence_records.csv"))
    recs = recs[recs["case"].isin(cases)]
    pop = read("prevalence", "prevalence_population.csv")
    pop = pop[pop["case"].isin(cases)].assign(**{S.YEAR: 2024, S.REGION: "R"})
    pop[S.SEX] = pop[S.SEX].astype("Int8")
    out = prevalence(recs, pop, index_date="2024-12-31", durations=[1, 5, None], by=["case", S.SEX],
                     adjust_lost=adjust, standard=pd.Series(SEGI, index=LABELS))
    out = out.astype({"duration": str, S.SEX: int}).set_index(["case", S.SEX, "duration"]).sort_index()
    ref = ref.set_index(["case", S.SEX, "duration"]).loc[out.index]
    assert len(out) == len(ref) and len(out) >= 150
    if adjust:
        assert (ref["count"] % 1 != 0).sum() >= 20       # fractional contributions of lost people
    for col in ("count", "n_lost", "n_unknown", "population"):
        assert_close(out[col], ref[col], atol=1e-12, what=col)
    for col in ("proportion", "lower", "upper"):
        assert_close(out[col], ref[col] * 100_000, atol=1e-12, what=col)
    for col in ("asr", "asr_lower", "asr_upper"):
        assert_close(out[col], ref[col] * 100_000, atol=1e-12, what=col)
