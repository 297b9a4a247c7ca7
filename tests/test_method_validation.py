"""Every public analytics function rejects an unknown method/option with a ValueError that names
the allowed values (issue 9: an unknown method must be an error, not a silent default)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import ci5_table, classify, ecological, intervals, joinpoint, narrative, prevalence, rates, spatial
from analytics.charts import incidence as charts_incidence
from analytics.charts import trends as charts_trends

AGE = pd.DataFrame({"age_group": ["0-4", "5-9"], "count": [3, 4], "population": [100.0, 200.0],
                    "age_start": [0, 5], "g": ["1", "2"], "std": [1.0, 1.0]})
ISR = AGE.assign(ref_count=[5, 6], ref_population=[1000.0, 1000.0])
RR = pd.concat([AGE.assign(g="1"), AGE.assign(g="2")], ignore_index=True)
ECO = pd.DataFrame({"observed": [3, 5, 8, 13, 2, 9], "expected": [4.0, 5, 6, 9, 3, 8], "x": [1.0, 2, 3, 5, 0, 4]})

CASES = {
    "rates.poisson_limits": (lambda v: rates.poisson_limits([3], method=v), ["exact", "byar", "auto"]),
    "rates.crude_rate": (lambda v: rates.crude_rate([3], [100], method=v), ["exact", "byar", "auto"]),
    "rates.proportion": (lambda v: rates.proportion([3], [100], method=v), ["wilson", "exact"]),
    "rates.dsr method": (lambda v: rates.dsr(AGE, method=v), ["tiwari", "fay_feuer", "dobson"]),
    "rates.dsr unknown_age": (lambda v: rates.dsr(AGE, unknown_age=v), ["exclude", "redistribute"]),
    "rates.age_specific": (lambda v: rates.age_specific(AGE, method=v), ["exact", "byar", "auto"]),
    "rates.cumulative_risk method": (lambda v: rates.cumulative_risk(AGE, method=v), ["tiwari", "fay_feuer"]),
    "rates.cumulative_risk unknown_age": (lambda v: rates.cumulative_risk(AGE, unknown_age=v), ["exclude"]),
    "rates.isr method": (lambda v: rates.isr(ISR, method=v), ["exact", "byar", "auto"]),
    "rates.isr statistic": (lambda v: rates.isr(ISR, statistic=v), ["ratio", "rate"]),
    "rates.rate_ratio method": (lambda v: rates.rate_ratio(RR, compare="g", reference="2", method=v),
                                ["tiwari", "fay_feuer"]),
    "rates.rate_ratio ratio_ci": (lambda v: rates.rate_ratio(RR, compare="g", reference="2", ratio_ci=v),
                                  ["f", "lognormal", "test_based"]),
    "rates.funnel_limits": (lambda v: rates.funnel_limits([5.0], kind=v), ["ratio", "rate"]),
    "intervals.poisson_count_limits": (lambda v: intervals.poisson_count_limits(3, method=v), ["exact", "byar"]),
    "intervals.dobson": (lambda v: intervals.dobson(1.0, 1.0, 3, count_method=v), ["exact", "byar"]),
    "spatial.smooth_sir method": (lambda v: spatial.smooth_sir([1, 2], [1, 2], method=v), ["global", "local"]),
    "spatial.smooth_sir estimator": (lambda v: spatial.smooth_sir([1, 2], [1, 2], estimator=v), ["moments", "ml"]),
    "spatial.regional_measures": (lambda v: spatial.regional_measures(
        AGE.assign(region_code="A"), AGE.assign(region_code="A"), ci_method=v), ["tiwari", "dobson"]),
    "spatial.contiguity_weights": (lambda v: spatial.contiguity_weights(None, islands=v), ["nearest", "keep"]),
    "ecological family": (lambda v: ecological.ecological_regression(ECO, ["x"], family=v), ["auto", "negbin"]),
    "ecological per": (lambda v: ecological.ecological_regression(ECO, ["x"], per=v), ["unit", "sd"]),
    "joinpoint selection": (lambda v: joinpoint.joinpoint(np.arange(2000, 2010), np.arange(1, 11.0), selection=v),
                            ["permutation", "bic", "wbic"]),
    "prevalence counting": (lambda v: prevalence.prevalence_contributions(pd.DataFrame(
        columns=["patient_id", "incidence_date", "vital_status", "last_contact_date", "site_ci5"]), counting=v),
                            ["person", "tumour"]),
    "classify scheme": (lambda v: classify.classify([1.0, 2.0], scheme=v), ["quantiles", "fisher_jenks"]),
    "narrative direction": (lambda v: narrative.quality_sentence(
        pd.DataFrame({"count": [1], "total": [2], "value": [50.0]}), "mv", target=90, direction=v),
                            ["higher", "lower"]),
    "ci5_table unknown_age": (lambda v: ci5_table.ci5_table(AGE.assign(sex=1, site="Lung"),
                                                            AGE.assign(sex=1), unknown_age=v),
                              ["exclude", "redistribute"]),
    "charts cases_by_site kind": (lambda v: charts_incidence.cases_by_site(
        pd.DataFrame({"site": ["Lung"], "count": [3]}), kind=v), ["treemap", "pie"]),
    "charts prevalence_chart value": (lambda v: charts_trends.prevalence_chart(
        pd.DataFrame({"site_ci5": ["Lung"], "count": [3.0], "duration": ["5"], "sex": [1]}), value=v),
                                      ["count", "proportion", "asr"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unknown_method_is_an_error_naming_the_choices(name):
    call, allowed = CASES[name]
    with pytest.raises(ValueError) as err:
        call("no-such-method")
    msg = str(err.value)
    assert "no-such-method" in msg or "unknown" in msg.lower(), msg
    for choice in allowed:
        assert choice in msg, f"{name}: {choice!r} not named in {msg!r}"
