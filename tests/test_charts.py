"""Chart builders: the figures carry the numbers of their input frames (checked by hand),
translated text, one colour per site from the published colour-blind-safe palettes, marks for
suppressed and unreliable values, and the provenance footer."""
from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from analytics import i18n
from analytics.charts import base, incidence, quality as qcharts
from analytics.schema import AGE_GROUPS

# Published palettes: Okabe & Ito (2008) "Color Universal Design"; Paul Tol (2021) "Colour
# Schemes" SRON/EPS/TN/09-002, qualitative bright / muted / vibrant / light.
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
TOL_BRIGHT = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]
TOL_MUTED = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499", "#DDDDDD"]
TOL_VIBRANT = ["#EE7733", "#0077BB", "#33BBEE", "#EE3377", "#CC3311", "#009988", "#BBBBBB"]
TOL_LIGHT = ["#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00", "#DDDDDD"]
PUBLISHED = set(OKABE_ITO + TOL_BRIGHT + TOL_MUTED + TOL_VIBRANT + TOL_LIGHT + ["#4D4D4D"])


def arr(v):
    """Trace arrays as plain lists (plotly >= 6 may store them base64-encoded)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v) if v is not None else None


def spec(fig: go.Figure) -> dict:
    return json.loads(pio.to_json(fig))


def _rates() -> pd.DataFrame:
    rows = [  # site, sex, value, lower, upper, count
        ("Lung", 1, 45.2, 41.0, 49.6, 480), ("Lung", 2, 25.1, 22.0, 28.4, 260),
        ("Breast", 2, 60.3, 56.0, 64.8, 700),
        ("Prostate", 1, 30.0, 27.0, 33.2, 310),
        ("Stomach", 1, 20.0, 17.5, 22.8, 210), ("Stomach", 2, 9.0, 7.4, 10.8, 95),
        ("Thyroid", 1, 2.0, 1.0, 3.5, 8), ("Thyroid", 2, 11.0, 9.2, 13.0, 120),
        ("Other", 1, 99.0, 90.0, 108.0, 999), ("Other", 2, 88.0, 80.0, 96.0, 888),
    ]
    return pd.DataFrame(rows, columns=["site_globocan", "sex", "value", "lower", "upper", "count"]).assign(flag="")


# --- colours and themes ------------------------------------------------------------------
def test_palettes_are_the_published_ones():
    assert list(base.OKABE_ITO.values()) == OKABE_ITO
    assert sorted(base.TOL_BRIGHT) == sorted(TOL_BRIGHT)
    assert sorted(base.TOL_MUTED) == sorted(TOL_MUTED)
    assert sorted(base.TOL_VIBRANT) == sorted(TOL_VIBRANT)
    assert sorted(base.TOL_LIGHT) == sorted(TOL_LIGHT)


def test_one_colour_per_site_from_safe_palettes_and_shared_between_lists():
    from analytics import sites
    groups = pd.read_csv(i18n.DATA_DIR / "reference" / "site_groups.csv")
    labels = set(groups["label"]) | set(sites.site_table("ci5_detailed")["label"]) | set(sites.site_table("globocan")["label"])
    for label in sorted(labels):
        assert label in base.SITE_COLOURS, label
        assert base.site_colour(label) in PUBLISHED, label
    same = [("Lung", "Lung (incl. trachea and bronchus)"), ("Gallbladder", "Gallbladder etc."),
            ("Colorectum", "Colon"), ("Lip, oral cavity", "Mouth"), ("Leukaemia", "Myeloid leukaemia")]
    for a, b in same:
        assert base.site_colour(a) == base.site_colour(b)
    # the sites of GLOBOCAN 2022's top-ten lists (world, both sexes) never share a colour
    top = ["Lung", "Breast", "Colorectum", "Prostate", "Stomach", "Liver", "Cervix uteri", "Thyroid",
           "Bladder", "Non-Hodgkin lymphoma", "Oesophagus", "Pancreas", "Leukaemia", "Kidney",
           "Corpus uteri", "Ovary", "Brain, nervous system", "Lip, oral cavity", "Larynx", "Melanoma of skin"]
    assert len({base.site_colour(s) for s in top}) == len(top)
    ci5_common = [s for s in base.COMMON_SITES if s in set(groups.loc[groups.scheme == "ci5_detailed", "label"])
                  and s != "Other"]
    assert len({base.site_colour(s) for s in ci5_common}) == len(ci5_common)
    # a user's own label gets a stable palette colour
    assert base.site_colour("My grouping") == base.site_colour("My grouping") and base.site_colour("My grouping") in PUBLISHED


def test_sex_colours_and_themes():
    assert base.sex_colour(1) == "#0072B2" and base.sex_colour("female") == "#D55E00"
    light = pio.templates[base.template_name("light")].layout
    pres = pio.templates[base.template_name("presentation")].layout
    assert light.font.size == 13 and pres.font.size >= 20 and pres.title.font.size >= 28
    assert pres.font.color == "#000000" and pres.paper_bgcolor == "white"
    fig = incidence.cases_per_year(pd.DataFrame({"year": [2020], "count": [3]}), theme="presentation")
    assert fig.layout.template.layout.font.size == pres.font.size
    with pytest.raises(ValueError, match="theme"):
        base.template_name("dark")


# --- footer and marks -------------------------------------------------------------------------
def test_footer_on_a_copy_with_every_item():
    fig = incidence.cases_per_year(pd.DataFrame({"year": [2019, 2020], "count": [3, 4]}))
    prov = base.Provenance(source="Demo", period="2015-2019", standard="Segi", method="Tiwari", date="2026-11-25")
    out = base.add_footer(fig, prov)
    assert not [a for a in fig.layout.annotations if a.name == base.FOOTER_NAME]
    text = [a.text for a in out.layout.annotations if a.name == base.FOOTER_NAME][0].replace("<br>", " ")
    assert text == "Source: Demo · Period: 2015-2019 · Standard population: Segi · Method: Tiwari · Date: 2026-11-25"
    assert out.layout.margin.b > 60
    assert base.Provenance(source="Demo", date="2026-01-02").text("ru") == "Источник: Demo · Дата: 2026-01-02"
    again = base.add_footer(out, None)
    assert not [a for a in again.layout.annotations if a.name == base.FOOTER_NAME]


def test_suppressed_and_unreliable_marks_from_the_disclosure_module():
    from analytics import disclosure
    tab = pd.DataFrame({"site": ["A", "B", "C", "D"], "count": [3, 12, 40, 0],
                        "value": [1.5, 6.25, 20.0, 0.0]})
    tab = disclosure.flag_unreliable(disclosure.suppress(tab, k=5), 16)
    assert base.value_text(tab).tolist() == ["<5", "6.2*", "20.0", "0.0*"] or \
        base.value_text(tab).tolist() == ["<5", "6.2*", "20.0", "0.0"]
    assert base.value_text(tab, lang="ru", decimals=2).tolist()[1] == "6,25*"
    note = base.marks_note(tab)
    assert "<5: fewer than 5 cases, not shown" in note and "*" in note


# --- incidence charts -------------------------------------------------------------------------
def test_top_sites_bar_men_left_women_right_with_cis():
    fig = incidence.top_sites_bar(_rates(), n=4, lang="en", standard="segi_1960_world_18grp_per100k")
    bars = [tr for tr in fig.data if tr.type == "bar"]
    men, women = bars
    assert men.name == "Men" and women.name == "Women"
    # ranking by men + women: Breast 60.3, Lung 70.3, Prostate 30.0, Stomach 29.0 ("Other" not ranked)
    assert list(fig.layout.yaxis.categoryarray) == ["Stomach", "Prostate", "Breast", "Lung"]
    m = dict(zip(men.y, arr(men.x)))
    assert m == {"Lung": -45.2, "Prostate": -30.0, "Stomach": -20.0}
    w = dict(zip(women.y, arr(women.x)))
    assert w == {"Lung": 25.1, "Breast": 60.3, "Stomach": 9.0}
    i = list(men.y).index("Lung")
    # men's bars point left: the upper limit extends leftwards (arrayminus)
    assert arr(men.error_x.arrayminus)[i] == pytest.approx(49.6 - 45.2)
    assert arr(men.error_x.array)[i] == pytest.approx(45.2 - 41.0)
    assert arr(women.error_x.array)[list(women.y).index("Lung")] == pytest.approx(28.4 - 25.1)
    assert fig.layout.xaxis.title.text == "Age-standardised rate (world standard) per 100,000"
    labels = [tr for tr in fig.data if tr.type == "scatter"]
    # values sit beyond the CI with an en space, so the whisker's cap never strikes the number
    assert "45.2\u2002" in labels[0].text and "\u200260.3" in labels[1].text
    lx = dict(zip(labels[0].y, arr(labels[0].x)))
    assert lx["Lung"] == pytest.approx(-49.6)
    # axis labels are absolute on both sides, and reach past the largest upper limit (64.8)
    assert list(fig.layout.xaxis.ticktext) == [str(abs(int(v))) for v in fig.layout.xaxis.tickvals]
    assert fig.layout.xaxis.tickvals[0] == -fig.layout.xaxis.tickvals[-1] and fig.layout.xaxis.tickvals[-1] >= 64.8


def test_top_sites_bar_translated_and_marks():
    df = _rates()
    df.loc[df.index[6], "flag"] = "unreliable: fewer than 16 cases"    # thyroid men
    fig = incidence.top_sites_bar(df, n=5, lang="ru", k=5)
    assert fig.layout.title.text == "5 локализаций с наибольшими показателями"
    men = fig.data[0]
    assert "Лёгкое" in men.y and "Щитовидная железа" in men.y
    pat = dict(zip(men.y, men.marker.pattern.shape))
    assert pat["Щитовидная железа"] == "/" and pat["Лёгкое"] == ""
    text = {y: v.strip("\u2002") for y, v in zip(fig.data[1].y, fig.data[1].text)}
    assert text["Щитовидная железа"] == "2,0*" and text["Лёгкое"] == "45,2"
    assert any("*" in a.text for a in fig.layout.annotations if a.name == base.NOTE_NAME)


def test_cases_by_site_treemap_and_pie():
    df = _rates()
    fig = incidence.cases_by_site(df, lang="az")
    tm = fig.data[0]
    vals = dict(zip(tm.ids, arr(tm.values)))
    assert vals["Lung"] == 740 and vals["Breast"] == 700 and vals["Other"] == 1887
    assert "Ağciyər" in tm.labels
    assert dict(zip(tm.ids, tm.marker.colors))["Lung"] == base.site_colour("Lung")
    pie = incidence.cases_by_site(df, kind="pie").data[0]
    assert sum(arr(pie.values)) == df["count"].sum()
    with pytest.raises(ValueError, match="treemap"):
        incidence.cases_by_site(df, kind="donut")


def test_population_pyramid_sums_and_percent():
    pop = pd.DataFrame({"age_group": ["5-9", "0-4", "85+", "0-4", "5-9", "85+", "0-4"],
                        "sex": [1, 1, 1, 2, 2, 2, 1], "population": [200, 100, 50, 90, 210, 100, 100],
                        "year": [2020] * 6 + [2021]})
    fig = incidence.population_pyramid(pop)
    men, women = fig.data
    assert list(men.y) == ["0-4", "5-9", "85+"]                   # numeric age order
    assert arr(men.x) == [-200, -200, -50] and arr(women.x) == [90, 210, 100]
    pct = incidence.population_pyramid(pop, percent=True)
    total = 850
    assert arr(pct.data[0].x) == pytest.approx([-200 / total * 100, -200 / total * 100, -50 / total * 100])
    assert pct.layout.xaxis.title.text == "Share of the population (%)"


def test_cases_per_year_by_sex():
    df = pd.DataFrame({"year": [2019, 2019, 2020, 2020, 2020], "sex": [1, 2, 1, 2, 2],
                       "count": [10, 12, 11, 5, 8]})
    fig = incidence.cases_per_year(df, lang="ru")
    assert [tr.name for tr in fig.data] == ["Мужчины", "Женщины"]
    assert arr(fig.data[0].y) == [10, 11] and arr(fig.data[1].y) == [12, 13]
    assert arr(fig.data[0].x) == [2019, 2020]
    assert fig.layout.separators == ",\u202f"


def test_asr_by_site_sorted_with_cis():
    fig = incidence.asr_by_site(_rates(), lang="en")
    cats = list(fig.layout.yaxis.categoryarray)[::-1]             # top to bottom
    assert cats[:3] == ["Other", "Breast", "Lung"]                # by the larger sex's rate
    men = next(tr for tr in fig.data if tr.name == "Men")
    i = list(men.y).index("Stomach")
    assert arr(men.x)[i] == 20.0
    assert arr(men.error_x.array)[i] == pytest.approx(2.8) and arr(men.error_x.arrayminus)[i] == pytest.approx(2.5)


def test_asr_by_site_suppressed_shows_k():
    df = _rates().assign(suppressed=False)
    df.loc[df.index[6], ["suppressed", "value", "lower", "upper"]] = [True, np.nan, np.nan, np.nan]
    fig = incidence.asr_by_site(df, k=10)
    men = next(tr for tr in fig.data if tr.name == "Men")
    i = list(men.y).index("Thyroid")
    assert men.text[i] == "<10" and arr(men.x)[i] == 0


def test_age_specific_curves_log_and_order():
    df = pd.DataFrame({"age_group": AGE_GROUPS[::-1], "value": [0.0] + list(range(1, 18)),
                       "sex": 1, "site_ci5": "Stomach"})
    fig = incidence.age_specific_curves(df, log=True, lang="en", ci=False)
    tr = fig.data[0]
    assert list(tr.x) == AGE_GROUPS                               # "5-9" after "0-4", "85+" last
    y = arr(tr.y)
    assert y[0] == 17 and y[-2] == 1 and y[-1] is None or np.isnan(y[-1])   # zero dropped on log scale
    assert fig.layout.yaxis.type == "log"
    assert tr.line.color == base.site_colour("Stomach")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("titled", [False, True])
def test_panels_laid_out_as_plotly_make_subplots(n, titled):
    """The age-specific chart's panels are written directly (a quarter of its build time was
    plotly's grid machinery): the layout is plotly's own make_subplots layout, domains,
    anchors, shared y axis and panel titles alike."""
    from plotly.subplots import make_subplots

    titles = [f"panel {i}" for i in range(n)] if titled else None
    ref = make_subplots(rows=1, cols=n, shared_yaxes=True, horizontal_spacing=incidence.PANEL_SPACING,
                        subplot_titles=titles).layout.to_plotly_json()
    ref.pop("template")
    ours = go.Layout(incidence._panels_layout(n, titles, x={}, y={}, y1={})).to_plotly_json()
    assert ours.keys() == ref.keys()
    for key, want in ref.items():
        if key == "annotations":
            assert len(ours[key]) == len(want)
            for a, b in zip(ours[key], want):
                assert {k: v for k, v in a.items() if k != "x"} == {k: v for k, v in b.items() if k != "x"}
                assert a["x"] == pytest.approx(b["x"], abs=1e-12)
        else:
            assert {k: v for k, v in ours[key].items() if k != "domain"} == {k: v for k, v in want.items()
                                                                              if k != "domain"}
            assert ours[key]["domain"] == pytest.approx(want["domain"], abs=1e-12)


@pytest.mark.parametrize("theme", ["light", "presentation"])
def test_figure_of_is_new_figure_with_its_traces_and_layout(theme):
    """The builders make their figures in one constructor (base.figure_of): it is the figure the
    step-by-step calls make — new_figure, add_traces (with legend_line), add_vline and
    update_layout —, the same JSON but for the order of the layout's keys, and a theme's row
    height read before the figure exists is the one read from it."""
    bars = base.trace("bar", y=["Lung", "Breast"], x=np.array([4.5, 6.0]), orientation="h", marker_color="#0072B2",
                      customdata=np.column_stack([[1.0, 2.0], [0.5, 1.5]]), hovertemplate="%{y}: %{x}")
    line = dict(color="#000000", width=2, dash="dash")
    layout = dict(barmode="overlay", xaxis=dict(title_text="Rate", rangemode="tozero"), xaxis_dtick=2,
                  yaxis=dict(categoryorder="array", categoryarray=["Breast", "Lung"]), legend=base.TOP_LEGEND,
                  height=400, separators=", ")
    ref = base.new_figure("Ölçülər — заголовок", theme)
    ref.add_traces([bars])
    ref.add_vline(x=5.25, line=line)
    base.legend_line(ref, "National", line)
    ref.update_layout(**layout)
    ours = base.figure_of([bars, base.legend_entry("National", line)], "Ölçülər — заголовок", theme,
                          shapes=[base.vline(5.25, line)], **layout)
    assert spec(ours) == spec(ref)
    assert base.row_height(theme, 20) == base.row_height(ref, 20)
    assert base.theme_font_size(theme, "title", "font", "size") == base._font_size(ref, "title", "font", "size")


def test_age_specific_curves_one_panel_per_sex_on_its_own_axes():
    df = pd.DataFrame({"age_group": AGE_GROUPS * 4, "value": np.arange(72.0), "lower": np.arange(72.0) - 1,
                       "upper": np.arange(72.0) + 1, "sex": [1] * 36 + [2] * 36,
                       "site_ci5": (["Stomach"] * 18 + ["Lung"] * 18) * 2})
    fig = incidence.age_specific_curves(df.iloc[::-1], lang="en")     # rows in any order: sites as met
    assert [(tr.name, tr.xaxis, tr.yaxis) for tr in fig.data] == [
        ("Lung", "x", "y"), ("Stomach", "x", "y"), ("Lung", "x2", "y2"), ("Stomach", "x2", "y2")]
    women_lung = fig.data[2]
    assert list(women_lung.x) == AGE_GROUPS
    assert list(arr(women_lung.y)) == list(np.arange(54.0, 72.0))
    assert list(arr(women_lung.error_y.array)) == [1.0] * 18
    assert fig.layout.yaxis2.matches == "y" and fig.layout.yaxis.title.text
    assert [a.text for a in fig.layout.annotations][:2] == ["Men", "Women"]
    no_site = df.astype({"site_ci5": object}).assign(site_ci5=lambda d: d["site_ci5"].where(d.index % 18 != 0, None))
    assert [tr.name for tr in incidence.age_specific_curves(no_site, lang="en").data] == [
        "Stomach", "Lung", "Stomach", "Lung"]          # rows without a site draw no curve of their own


def test_regions_compared_marks_significant_regions():
    df = pd.DataFrame({"region_name": ["A", "B", "C", "D"], "value": [50.0, 30.0, 41.0, 20.0],
                       "lower": [45.0, 25.0, 35.0, 10.0], "upper": [55.0, 35.5, 47.0, 30.0]})
    nat = 40.0
    assert incidence.region_status(df, nat).tolist() == ["higher", "lower", "same", "lower"]
    fig = incidence.regions_compared(df, national=nat, lang="en")
    by_name = {tr.name: list(tr.y) for tr in fig.data if tr.type == "bar"}
    assert by_name == {"Higher than national": ["A"], "Lower than national": ["B", "D"],
                       "Not significantly different": ["C"]}
    assert list(fig.layout.yaxis.categoryarray) == ["D", "B", "C", "A"]     # highest at the top
    assert fig.layout.shapes[0].x0 == nat
    assert any(tr.name == "National: 40.0" for tr in fig.data)


def test_rates_engine_output_draws():
    from analytics import rates
    rng = np.random.default_rng(7)
    rows = [(s, sx, a, rng.poisson(5 + i), 10000) for s in ("Lung", "Stomach") for sx in (1, 2)
            for i, a in enumerate(AGE_GROUPS)]
    data = pd.DataFrame(rows, columns=["site_globocan", "sex", "age_group", "count", "population"])
    res = rates.dsr(data, by=["site_globocan", "sex"])
    fig = incidence.top_sites_bar(res)
    men = fig.data[0]
    expect = res[res.sex == 1].set_index("site_globocan")["value"]
    assert dict(zip(men.y, arr(men.x))) == pytest.approx({k: -v for k, v in expect.items()})
    incidence.age_specific_curves(rates.age_specific(data, by=["site_globocan", "sex"]))


def test_every_builder_in_every_language_uses_only_catalogued_text():
    i18n.reload_catalogues()
    pop = pd.DataFrame({"age_group": AGE_GROUPS, "sex": 1, "population": 1000.0})
    ages = pd.DataFrame({"age_group": AGE_GROUPS, "value": 1.0, "lower": 0.5, "upper": 2.0, "sex": 2,
                         "site_ci5": "Breast"})
    reg = pd.DataFrame({"region_name": ["A"], "value": [1.0], "lower": [0.5], "upper": [2.0]})
    qual = pd.DataFrame({"site_ci5": ["Breast"], "indicator": ["mv_pct"], "value": [95.0]})
    for lang in i18n.LANGUAGES:
        incidence.top_sites_bar(_rates(), lang=lang, standard="esp_2013")
        incidence.cases_by_site(_rates(), lang=lang)
        incidence.population_pyramid(pop, lang=lang)
        incidence.cases_per_year(pd.DataFrame({"year": [2020], "count": [1]}), lang=lang)
        incidence.asr_by_site(_rates(), lang=lang)
        incidence.age_specific_curves(ages, lang=lang)
        incidence.regions_compared(reg, national=1.0, lang=lang)
        qcharts.indicator_bars(qual, indicator="mv_pct", lang=lang)
        qcharts.indicator_overview(qual.drop(columns="site_ci5"), lang=lang)
        incidence.top_sites_bar(_rates().iloc[:0], lang=lang)       # empty selection message
    assert i18n.missing_keys() == set()


def test_bad_input_names_the_missing_column():
    with pytest.raises(ValueError, match="site"):
        incidence.top_sites_bar(pd.DataFrame({"sex": [1], "value": [1.0]}))
    with pytest.raises(ValueError, match="population"):
        incidence.population_pyramid(pd.DataFrame({"age_group": ["0-4"], "sex": [1]}))


# --- quality ---------------------------------------------------------------------------------------
def test_target_status_by_hand():
    assert qcharts.target_status([95, 85, 70, np.nan], 90, 80, "higher").tolist() == \
        ["good", "acceptable", "poor", "none"]
    assert qcharts.target_status([4, 8, 12], 5, 10, "lower").tolist() == ["good", "acceptable", "poor"]
    assert qcharts.target_status([4, 12], 5, None, "lower").tolist() == ["good", "poor"]
    assert qcharts.target_status([4], None).tolist() == ["none"]


def test_indicator_bars_from_the_quality_module():
    from analytics import quality
    # 10 stomach cases: basis 7,7,7,7,7,7,5 (MV 7/10 = 70 %), 1 clinical, 2 DCO (20 %)
    recs = pd.DataFrame({"site_ci5": ["Stomach"] * 10 + ["Breast"] * 4,
                         "basis": pd.array([7, 7, 7, 7, 7, 7, 5, 1, 0, 0] + [7, 7, 7, 6], dtype="Int8"),
                         "sex": pd.array([1] * 10 + [2] * 4, dtype="Int8"),
                         "age": pd.array([60] * 14, dtype="Int16"),
                         "icd10": ["C169"] * 10 + ["C509"] * 4})
    ind = quality.indicators(recs, by=("site_ci5",))
    fig = qcharts.indicator_bars(ind, indicator="mv_pct", lang="en")
    got = {tr.name: dict(zip(tr.y, arr(tr.x))) for tr in fig.data if tr.type == "bar"}
    assert got == {"Meets target": {"Breast": 100.0}, "Needs attention": {"Stomach": 70.0}}
    assert fig.layout.shapes[0].x0 == 90.0                        # target line (Bray & Parkin 2009)
    dco = qcharts.indicator_bars(ind, indicator="dco_pct", lang="ru")
    got = {tr.name: dict(zip(tr.y, arr(tr.x))) for tr in dco.data if tr.type == "bar"}
    assert got == {"Соответствует цели": {"Молочная железа": 0.0}, "Требует внимания": {"Желудок": 20.0}}
    wide = pd.DataFrame({"year": [2015, 2016], "mv": [85.0, 92.0]})
    fig = qcharts.indicator_bars(wide, x="year", y="mv", target=90, title="MV")   # a target alone: pass/fail
    assert {tr.name: arr(tr.y) for tr in fig.data if tr.type == "bar"} == {"Meets target": [92.0], "Needs attention": [85.0]}
    fig = qcharts.indicator_bars(wide, x="year", y="mv", target=90, acceptable=80)
    assert {tr.name: arr(tr.y) for tr in fig.data if tr.type == "bar"} == {"Meets target": [92.0], "Acceptable": [85.0]}
    assert fig.layout.shapes[0].y0 == 90 and fig.layout.shapes[1].y0 == 80


# --- robustness: any well-formed frame draws, whatever its numbers --------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_num = st.one_of(st.floats(min_value=0, max_value=1e4, allow_nan=False), st.just(float("nan")), st.just(0.0))


@st.composite
def rate_frames(draw):
    sites = draw(st.lists(st.sampled_from(["Lung", "Breast", "Stomach", "Other", "Liver", "Prostate"]),
                          min_size=0, max_size=6, unique=True))
    rows = []
    for s in sites:
        for sex in draw(st.lists(st.sampled_from([1, 2, 9]), min_size=1, max_size=3, unique=True)):
            v = draw(_num)
            rows.append({"site_ci5": s, "sex": sex, "value": v, "lower": v * 0.8, "upper": v * 1.2,
                         "count": draw(st.integers(0, 50)), "suppressed": draw(st.booleans()),
                         "flag": draw(st.sampled_from(["", "unreliable: fewer than 16 cases"]))})
    return pd.DataFrame(rows, columns=["site_ci5", "sex", "value", "lower", "upper", "count", "suppressed", "flag"])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate_frames(), st.sampled_from(i18n.LANGUAGES), st.sampled_from(["light", "presentation"]))
def test_builders_draw_any_rate_frame(df, lang, theme):
    figs = [incidence.top_sites_bar(df, lang=lang, theme=theme, k=5),
            incidence.asr_by_site(df, lang=lang, theme=theme),
            incidence.cases_by_site(df, lang=lang, theme=theme),
            incidence.regions_compared(df.rename(columns={"site_ci5": "region_name"}), national=10.0, lang=lang),
            incidence.cases_per_year(df.assign(year=2020), lang=lang)]
    for fig in figs:
        json.loads(pio.to_json(fig))            # a valid plotly figure
        assert fig.layout.title.text


def test_indicator_heatmap_cells_by_status():
    df = pd.DataFrame({"site_ci5": ["Stomach", "Stomach", "Breast", "Breast"], "year": [2020, 2021, 2020, 2021],
                       "indicator": "dco_pct", "value": [12.0, 7.0, 2.0, np.nan]})
    fig = qcharts.indicator_heatmap(df, indicator="dco_pct", lang="en")
    hm = fig.data[0]
    assert list(hm.y) == ["Breast", "Stomach"] and list(hm.x) == ["2020", "2021"]
    z = np.array(hm.z, dtype=float)
    # DCO targets (analytics.quality.targets: good <= 5, acceptable <= 10): 2 good, 12 poor, 7 acceptable
    assert z[0, 0] == 0 and np.isnan(z[0, 1]) and z[1, 0] == 2 and z[1, 1] == 1
    assert [list(r) for r in hm.text] == [["2.0", ""], ["12.0", "7.0"]]
    names = [tr.name for tr in fig.data[1:]]
    assert names == ["Meets target", "Acceptable", "Needs attention", "Target: ≤ 5%"]


def test_presentation_theme_keeps_every_site_label_and_wraps_long_titles():
    # 22 px tick labels need >= ~42 px per row, or plotly drops every other site name
    title = "Top 10 sites by ASR, men (left) and women (right), 2020-2024, demo registry"
    fig = incidence.top_sites_bar(_rates(), n=4, lang="en", theme="presentation", title=title)
    rows = len(fig.layout.yaxis.categoryarray)
    assert (fig.layout.height - 160) / rows >= 1.9 * 22
    # at 32 px a 1000 px figure holds ~50 characters a line: the title is wrapped, not cut
    assert fig.layout.title.text.count("<br>") == 1
    assert fig.layout.title.text.replace("<br>", " ") == title
    light = incidence.top_sites_bar(_rates(), n=4, lang="en", title=title)
    assert light.layout.title.text == title          # 17 px: one line


def test_quality_bars_target_lines_never_strike_value_labels():
    from analytics.charts import quality as qc

    df = pd.DataFrame({"site": ["A", "B"], "value": [99.0, 89.4], "count": 1, "total": 1})
    fig = qc.indicator_bars(df, x="site", y="value", indicator="mv_pct", lang="en")
    # Bray & Parkin targets for % MV: 90 (target) and 80 (acceptable), drawn above the bars; the
    # values are written beside the categories on the axis, so no line can strike one
    assert sorted(s.x0 for s in fig.layout.shapes) == [80.0, 90.0]
    assert all(s.layer == "above" for s in fig.layout.shapes)
    assert all(not tr.text for tr in fig.data if tr.type == "bar")
    assert list(fig.layout.yaxis.ticktext) == ["A  99.0%", "B  89.4%"]
