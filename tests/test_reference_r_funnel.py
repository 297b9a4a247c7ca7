"""analytics.rates.funnel_limits against the limits written out in R (tests/reference/funnel/
make_funnel.R; Spiegelhalter 2005): exact interpolated Poisson limits for ratios and rates on
400 random sizes, and the additive random-effects limits on 150 sets of units."""
from __future__ import annotations


from analytics import rates
from reference_r import assert_close, read


def test_exact_interpolated_limits_match_r():
    ref = read("funnel", "funnel_expected.csv")
    for (kind, conf), d in ref.groupby(["kind", "conf"]):
        for target, g in d.groupby("target"):
            out = rates.funnel_limits(g["x"], kind=kind, target=target, conf=(conf,))
            assert_close(out["lower"], g["lower"], atol=1e-12, what=f"{kind} lower")
            assert_close(out["upper"], g["upper"], what=f"{kind} upper")
    assert ref["x"].min() < 0.05 and ref["x"].max() > 5e4


def test_overdispersed_limits_match_r():
    units = read("funnel", "overdispersion_units.csv")
    sets = read("funnel", "overdispersion_sets.csv").set_index("set")
    assert sets["overdispersed"].any() and not sets["overdispersed"].all()
    for s, u in units.groupby("set"):
        info = sets.loc[s]
        out = rates.funnel_limits(u["E"], kind="ratio", conf=(float(info["conf"]),), observed=u["O"],
                                  expected=u["E"], overdispersion=True)
        assert_close([out.attrs["phi"], out.attrs["tau2"]], [info["phi"], info["tau2"]], atol=1e-15, what="phi, tau2")
        assert_close(out["lower"], u["lower"], atol=1e-12, what="lower")
        assert_close(out["upper"], u["upper"], what="upper")
