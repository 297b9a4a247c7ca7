"""Cell-key perturbation (analytics.disclosure): record keys, the perturbation table, the
perturbed cube, protection, the rule in words, and the public paths of quality indicators and
prevalence. Expected values are derived by hand or computed here independently."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analytics import cube as C
from analytics import schema as S
from analytics.disclosure import (DEMO_SECRET, DisclosureRule, PerturbedCube, cell_key, max_entropy_table, perturb,
                                  protect, show_small)
from analytics.disclosure.keys import KEY_BITS, keyed_hash


# --- perturbation table --------------------------------------------------------------------------
def test_ptable_with_three_noise_values_is_fixed_by_the_moments():
    """Support {-1, 0, 1}, mean 0, variance V: p(+-1) = V/2, p(0) = 1 - V (by hand)."""
    t = max_entropy_table(1, 0.5)
    assert t.probs[0].tolist() == [0.0, 1.0, 0.0]            # zeros stay zeros
    assert t.probs[1] == pytest.approx([0.25, 0.5, 0.25], abs=1e-12)


def test_ptable_rows_are_maximum_entropy_with_mean_zero_and_variance_v():
    d, v = 4, 1.0
    t = max_entropy_table(d, v)
    j = np.arange(-d, d + 1)
    assert np.allclose(t.probs.sum(axis=1), 1.0, atol=1e-12)
    assert np.allclose(t.probs @ j, 0.0, atol=1e-10)                       # unbiased
    assert np.allclose(t.probs[1:] @ j ** 2, v, atol=1e-10)                # variance V where possible
    for i in range(d + 1):
        assert (t.probs[i][j < -i] == 0).all()                              # never below zero
    # the full row (counts >= D) is symmetric and p ~ exp(b j^2): solve for b independently
    b = optimize.brentq(lambda b: (np.exp(b * j ** 2) * j ** 2).sum() / np.exp(b * j ** 2).sum() - v, -5, -1e-6)
    assert t.probs[d] == pytest.approx(np.exp(b * j ** 2) / np.exp(b * j ** 2).sum(), abs=1e-10)
    # small counts: log p is quadratic in j on [-i, D] (the exponential family of maximum entropy)
    for i in (1, 2, 3):
        lp = np.log(t.probs[i][j >= -i])
        assert np.allclose(np.diff(lp, 3), 0.0, atol=1e-8)


def test_noise_is_chosen_by_the_cell_key_in_the_cumulative_table():
    t = max_entropy_table(4, 1.0)
    keys = (np.arange(1 << 16) + 0.5) / (1 << 16)
    for count in (1, 2, 7):
        n = t.noise(np.full(len(keys), count), keys)
        freq = np.bincount(n + 4, minlength=9) / len(keys)
        assert freq == pytest.approx(t.row(count), abs=2 / (1 << 16))
        assert (count + n >= 0).all() and np.abs(n).max() <= 4
    assert (t.noise(np.zeros(100, int), np.linspace(0, 0.99, 100)) == 0).all()
    with pytest.raises(ValueError):
        t.noise([3], [1.0])


# --- keys ----------------------------------------------------------------------------------------
def test_record_keys_are_fixed_keyed_and_uniform():
    rule = DisclosureRule()
    ids = pd.Series([f"T{i:07d}" for i in range(20000)])
    k1, k2 = rule.record_keys(ids), rule.record_keys(ids.sample(frac=1, random_state=1).sort_index())
    assert (k1 == k2).all() and ((k1 >= 0) & (k1 < 1 << KEY_BITS)).all()
    other = DisclosureRule(secret=b"another registry's secret").record_keys(ids)
    assert (other != k1).mean() > 0.99                                      # the secret matters
    counts = np.bincount(k1 >> (KEY_BITS - 4), minlength=16)                # 16 bins of 1250 expected
    assert counts.min() > 1100 and counts.max() < 1400
    assert (rule.record_keys(["T0000003"]) == k1[3]).all()


def test_keys_of_records_prefer_a_unique_tumour_id_else_the_row():
    rule = DisclosureRule()
    rec = pd.DataFrame({S.TUMOUR_ID: ["a", "b", "c"], S.ROW: [1, 2, 3]})
    assert (rule.keys_of(rec) == rule.record_keys(["tumour_id:a", "tumour_id:b", "tumour_id:c"])).all()
    assert (rule.keys_of(rec.iloc[[2]], reference=rec) == rule.keys_of(rec)[2]).all()
    dup = rec.assign(**{S.TUMOUR_ID: ["a", "a", None]})
    assert (rule.keys_of(dup) == rule.record_keys(["row:1", "row:2", "row:3"])).all()


def test_row_keys_of_an_aggregated_table_follow_its_coordinates():
    rule = DisclosureRule()
    deaths = pd.DataFrame({S.YEAR: [2020, 2020, 2021], S.SEX: [1, 2, 1], S.ICD10: ["C16", "C16", "C16"],
                           S.COUNT: [3, 1, 2]})
    k = rule.row_keys(deaths, [S.YEAR, S.SEX, S.ICD10])
    assert len(set(k)) == 3
    again = rule.row_keys(deaths.iloc[::-1].reset_index(drop=True), [S.YEAR, S.SEX, S.ICD10])[::-1]
    assert (k == again).all()
    assert (k != rule.row_keys(deaths, [S.YEAR, S.SEX])).any()


def test_cell_key_is_the_key_sum_modulo_the_key_range():
    assert cell_key([0, 1 << KEY_BITS, (1 << KEY_BITS) + 3]).tolist() == [0.0, 0.0, 3 / (1 << KEY_BITS)]


# --- the rule --------------------------------------------------------------------------------------
def test_rule_secret_from_the_environment_and_fingerprint():
    demo = DisclosureRule.from_env(environ={})
    assert demo.uses_demo_secret and demo.secret == DEMO_SECRET
    own = DisclosureRule.from_env(environ={"REGISTRY_DISCLOSURE_SECRET": "s3cret"})
    assert not own.uses_demo_secret and own.fingerprint != demo.fingerprint
    assert "s3cret" not in own.fingerprint and "s3cret" not in repr(own)
    with pytest.raises(ValueError):
        DisclosureRule(k=0)


def test_noisy_counts_keep_zeros_and_stay_within_the_bound():
    rule = DisclosureRule()
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 40, 50000)
    keys = rng.integers(0, 1 << 40, 50000)
    out = rule.noisy(counts, keys)
    assert (out[counts == 0] == 0).all() and (out >= 0).all()
    assert np.abs(out - counts).max() == rule.max_noise
    big = counts >= rule.max_noise
    assert abs((out - counts)[big].mean()) < 0.02 and abs((out - counts)[big].var() - 1.0) < 0.05
    assert (rule.noisy(counts, keys) == out).all()                          # the same cell, the same noise
    assert (rule.noisy(counts, keys + (1 << KEY_BITS)) == out).all()        # only the key modulo the range


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
def test_rule_text_names_k_and_the_noise_bound(lang):
    text = DisclosureRule(k=10, max_noise=4).text(lang)
    assert "10" in text and "4" in text and "<10" in text


def test_perturb_and_protect_a_table():
    rule = DisclosureRule()
    t = pd.DataFrame({"site": ["a", "b", "c"], "count": [0, 5, 120], "key_sum": [0, 12345, 987654],
                      "population": [1e4, 1e4, 1e4], "value": [0.0, 50.0, 1200.0]})
    p = perturb(t, rule)
    assert "key_sum" not in p and p["count"].tolist()[0] == 0
    assert p["count"].tolist() == list(rule.noisy([0, 5, 120], [0, 12345, 987654]))
    out = protect(p.assign(count=[0, 4, 120]), rule)
    assert out["suppressed"].tolist() == [False, True, False]
    assert pd.isna(out["count"].iloc[1]) and pd.isna(out["value"].iloc[1]) and out["population"].iloc[1] == 1e4
    shown = show_small(out, rule.k)
    assert shown["count"].tolist() == [0, "<10", 120]
    wide = protect(pd.DataFrame({"0-4": [3, 0], "5-9": [12, 9], "all_ages": [15, 9]}), rule, count="all_ages",
                   cells=["0-4", "5-9"])
    assert show_small(wide, 10, as_text=True)[["0-4", "5-9", "all_ages"]].values.tolist() == [
        ["<10", "12", "15"], ["0", "<10", "<10"]]


# --- the perturbed cube ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_cube():
    rng = np.random.default_rng(8)
    n = 3000
    ages = np.array(S.AGE_GROUPS, dtype=object)
    rec = pd.DataFrame({
        S.TUMOUR_ID: [f"t{i}" for i in range(n)], S.INCLUDED: True,
        S.YEAR: rng.integers(2018, 2023, n), S.SEX: rng.choice([1, 2, 9], n, p=[0.48, 0.48, 0.04]),
        S.REGION: rng.choice(["d1", "d2", "d3", "d4"], n),
        S.AGE_GROUP: np.where(rng.random(n) < 0.02, None, ages[rng.integers(8, 18, n)]),
        "site": rng.choice(["A", "B", "C", "Skin"], n), S.ICD10: "C00",
    })
    rec.loc[rec["site"] == "Skin", S.ICD10] = "C44"
    rule = DisclosureRule()
    ev = C.events_from_records(rec.assign(k=rule.keys_of(rec)), "site", key="k")
    parents = {"d1": "E1", "d2": "E1", "d3": "E2", "d4": "E2"}
    return rec, rule, PerturbedCube(C.build_cube(ev, _pop(), parents, strategy="dense"), rule), parents


def _cell(rec, rule, **where) -> int:
    """The published count of one base cell, from the records directly."""
    m = np.ones(len(rec), bool)
    for col, vals in where.items():
        m &= rec[col].isin(vals).to_numpy() if col != S.AGE_GROUP else rec[col].fillna("?").isin(vals).to_numpy()
    part = rec[m]
    return int(rule.noisy([len(part)], [int(rule.keys_of(part, reference=rec).sum())])[0])


def test_a_period_and_an_age_range_add_up_their_perturbed_base_cells(small_cube):
    rec, rule, pc, parents = small_cube
    sel = C.Selection(years=(2019, 2021), sexes=(2,), regions=("d1", "d2"), ages=("60-64", "65-69"), site="B")
    out = pc.select(sel)
    expected = sum(_cell(rec, rule, **{S.YEAR: [y], S.SEX: [2], S.REGION: ["d1", "d2"], S.AGE_GROUP: [a],
                                       "site": ["B"]})
                   for y in (2019, 2020, 2021) for a in ("60-64", "65-69"))
    assert out["count"].sum() == expected
    assert out.set_index(S.AGE_GROUP).loc["65-69", "count"] == sum(
        _cell(rec, rule, **{S.YEAR: [y], S.SEX: [2], S.REGION: ["d1", "d2"], S.AGE_GROUP: ["65-69"], "site": ["B"]})
        for y in (2019, 2020, 2021))


def test_the_same_cell_has_the_same_count_in_every_view(small_cube):
    rec, rule, pc, parents = small_cube
    sel = C.Selection(years=(2020, 2020))
    by_sex_site = pc.select(sel, ("sex", "site")).set_index(["sex", "site", S.AGE_GROUP])["count"]
    one = pc.select(sel.replace(sexes=(1,), site="A")).set_index(S.AGE_GROUP)["count"]
    assert (by_sex_site.xs((1, "A"), level=("sex", "site")).loc[one.index] == one).all()
    by_region = pc.select(sel, (S.REGION,)).set_index([S.REGION, S.AGE_GROUP])["count"]
    d3 = pc.select(sel.replace(regions=("d3",))).set_index(S.AGE_GROUP)["count"].dropna()
    assert (by_region.xs("d3", level=S.REGION).loc[[a for a in d3.index if a in S.AGE_GROUPS]]
            == d3.loc[[a for a in d3.index if a in S.AGE_GROUPS]]).all()
    by_parent = pc.select(sel, (S.PARENT,)).set_index([S.PARENT, S.AGE_GROUP])["count"]
    e2 = pc.select(sel.replace(regions=("d3", "d4"))).set_index(S.AGE_GROUP)["count"]
    known = [a for a in e2.index if a in S.AGE_GROUPS]
    assert (by_parent.xs("E2", level=S.PARENT).loc[known] == e2.loc[known]).all()


def test_sets_that_are_not_one_node_add_up_their_nodes(small_cube):
    rec, rule, pc, parents = small_cube
    sel = C.Selection(years=(2022, 2022), ages=("70-74",))
    men_women = pc.select(sel.replace(sexes=(1, 2)))["count"].sum()
    total = lambda **kw: pc.select(sel.replace(**kw))["count"].sum()  # noqa: E731
    assert men_women == total(sexes=(1,)) + total(sexes=(2,))
    two = pc.select(sel.replace(regions=("d1", "d3")))["count"].sum()
    assert two == total(regions=("d1",)) + total(regions=("d3",))
    both = pc.select(sel)["count"].sum()          # both sexes with unknown sex: its own node
    assert both == _cell(rec, rule, **{S.YEAR: [2022], S.AGE_GROUP: ["70-74"]})
    with pytest.raises(ValueError):
        pc.select(sel.replace(sexes=(1, 9)))


def test_published_counts_stay_close_and_unbiased(small_cube):
    rec, rule, pc, parents = small_cube
    sel = C.Selection(years=(2018, 2022))
    keys = [S.REGION, "site", S.AGE_GROUP]
    pub = pc.select(sel, (S.REGION, "site")).fillna({S.AGE_GROUP: "?"})
    true = pc.cube.select(sel, (S.REGION, "site")).fillna({S.AGE_GROUP: "?"})
    both = true.merge(pub, on=keys, how="left", suffixes=("", "_pub"), validate="1:1")
    assert len(both) == len(pub) == len(true)
    diff = (both["count_pub"] - both["count"]).to_numpy()
    cells = (both["count"] > 0).to_numpy()
    assert (np.abs(diff) <= rule.max_noise * 5).all()           # at most D per year (5 years)
    assert (diff[~cells] == 0).all()
    assert abs(diff.mean()) < 0.5 and diff.std() > 0.5


def test_a_cube_without_keys_is_refused(small_cube):
    rec, rule, pc, parents = small_cube
    pop = pd.DataFrame({S.YEAR: [2020], S.SEX: [1], S.REGION: ["d1"], S.AGE_GROUP: ["0-4"], S.POPULATION: [1.0]})
    plain = C.build_cube(C.events_from_records(rec, "site"), pop, parents)
    with pytest.raises(ValueError, match="record keys"):
        PerturbedCube(plain, rule)


# --- quality indicators and prevalence in public output ---------------------------------------------
def test_quality_indicators_key_sums_count_the_records_of_each_numerator():
    from analytics import quality

    rec = pd.DataFrame({S.SITE_CI5: ["a", "a", "a", "b"], S.BASIS: [7, 0, 7, 9], S.SEX: [1, 2, 9, 1],
                        S.AGE: [50, np.nan, 60, 70], S.ICD10: ["C16", "C16", "C80", "C18"], "k": [1, 10, 100, 1000]})
    q = quality.indicators(rec, by=[S.SITE_CI5], key="k").set_index([S.SITE_CI5, "indicator"])
    assert q.loc[("a", "mv_pct"), ["count", "count_key", "total", "total_key"]].tolist() == [2, 101, 3, 111]
    assert q.loc[("a", "dco_pct"), "count_key"] == 10 and q.loc[("a", "unknown_age_pct"), "count_key"] == 10
    assert q.loc[("a", "unknown_sex_pct"), "count_key"] == 100
    assert q.loc[("b", "unknown_basis_pct"), "count_key"] == 1000
    assert "count_key" not in quality.indicators(rec, by=[S.SITE_CI5]).columns


def test_public_prevalence_adds_up_perturbed_age_cells():
    """Published prevalence = sum over age groups (at the index date) of each cell's count with
    the noise of its key sum; the cells are rebuilt here from the contributions."""
    from analytics import demo
    from analytics.prevalence import prevalence, prevalence_contributions

    reg = demo.load_demo()
    rule = DisclosureRule()
    rec = reg.records[reg.records[S.REGION] == "AZE-1676"]
    rec = rec.assign(_key=rule.keys_of(rec, reference=reg.records))
    pop = reg.population[reg.population[S.REGION] == "AZE-1676"]
    ages = ["60-64", "65-69", "70-74"]
    pub = prevalence(rec, pop, index_date="2024-12-31", by=[S.SITE_CI5, S.SEX], ages=ages, key="_key",
                     perturb=rule.noisy)
    c = prevalence_contributions(rec, index_date="2024-12-31", extra_columns=["_key"])
    start = pd.Timestamp("2024-12-31") - pd.DateOffset(years=5)
    for site, sex in (("Stomach", 1), ("Breast", 2), ("Lung (incl. trachea and bronchus)", 1)):
        u = c[c["site_row"] & (c[S.SITE_CI5] == site) & (c[S.SEX] == sex) & (c["status"] == "alive")
              & (c[S.INCIDENCE_DATE] > start)]
        cells = u.groupby(u["age_group_index"].astype(str))["_key"].agg(["size", "sum"]).reindex(ages).fillna(0)
        expected = int(rule.noisy(cells["size"].astype(int), cells["sum"].astype(np.int64)).sum())
        row = pub[(pub[S.SITE_CI5] == site) & (pub[S.SEX] == sex) & (pub["duration"] == "5")].iloc[0]
        assert row["count"] == expected
        assert row["proportion"] == pytest.approx(1e5 * expected / row["population"], rel=1e-9)
    with pytest.raises(ValueError, match="whole counts"):
        prevalence(rec, pop, index_date="2024-12-31", by=[S.SITE_CI5, S.SEX], key="_key", perturb=rule.noisy,
                   adjust_lost=True)


def test_dense_and_sparse_cubes_publish_the_same_counts(small_cube):
    rec, rule, pc, parents = small_cube
    sparse_pc = PerturbedCube.from_records(rec, _pop(), parents, "site", rule, strategy="sparse")
    for sel, by in [(C.Selection(years=(2018, 2022)), ("sex", "site")),
                    (C.Selection(years=(2019, 2020), regions=("d1", "d2"), site="all_but_c44"), (S.PARENT,)),
                    (C.Selection(years=(2021, 2021), sexes=(1, 2), ages=("60-64", "65-69")), (S.REGION, "year"))]:
        a = pc.select(sel, by).fillna({S.AGE_GROUP: "?"})
        b = sparse_pc.select(sel, by).fillna({S.AGE_GROUP: "?"})
        keys = list(by) + [S.AGE_GROUP]
        pd.testing.assert_frame_equal(a.sort_values(keys).reset_index(drop=True),
                                      b.sort_values(keys).reset_index(drop=True), check_dtype=False)


def _pop() -> pd.DataFrame:
    pop = pd.MultiIndex.from_product([range(2018, 2023), [1, 2], ["d1", "d2", "d3", "d4"], S.AGE_GROUPS],
                                     names=[S.YEAR, S.SEX, S.REGION, S.AGE_GROUP]).to_frame(index=False)
    pop[S.POPULATION] = 1000.0
    return pop


def test_the_per_query_path_publishes_what_the_dense_nodes_publish(small_cube, monkeypatch):
    """Dense cubes above MAX_NODE_CELLS perturb each selection's base cells when asked: the same
    published counts as the precomputed nodes."""
    from analytics.disclosure import cube as dcube

    rec, rule, pc, parents = small_cube
    sel = C.Selection(years=(2019, 2022), regions=("d3", "d4"), ages=("50-54", "55-59", "60-64"), site="all_but_c44")
    fast = pc.select(sel, ("sex", S.PARENT))
    monkeypatch.setattr(dcube, "MAX_NODE_CELLS", 0)
    slow = PerturbedCube(pc.cube, rule).select(sel, ("sex", S.PARENT))
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
