"""Streamlit glue for the dashboard: shared sidebar filters, cached data access, chart widgets.

How to write a page (``pages/<name>.py``; its stem must be in ``PAGES`` in ``app.py``, its
navigation title is the catalogue key ``app.page.<name>``)::

    import streamlit as st
    from app_support import cache, filters, widgets

    f = filters.sidebar_filters()       # FIRST line: draws the shared sidebar, returns a Filters
    ds = filters.dataset()              # the active data (demo or the session's upload): Dataset
    st.title(f.t("app.page.trends"))    # every visible text through f.t("<namespace>.<key>")
    table = cache.dsr(ds, f, by=("year", "sex"))    # cached aggregation + analytics.rates.dsr
    fig = some_analytics_chart_builder(table, lang=f.lang, theme=f.theme)
    widgets.chart_with_table(fig, table, name="trends_asr", f=f, ds=ds, title="...", reading="...")

What you get
- ``Filters``: y0, y1, sex ("both"/"male"/"female", ``f.sex_codes``), scheme + site (``f.site_column``),
  er / district (``f.region_codes(ds.regions)``), a0, a1 (``f.age_groups``), std, ci, conf
  (``f.level``), public, lang, theme; ``f.key()`` is hashable for your own caches.
- ``Dataset``: ``token`` (hash key), ``registry`` (analytics.pipeline.RegistryData), ``records``,
  ``population``, ``regions`` (codes/names, no geometry), ``geo`` (GeoDataFrame), ``risk_factors``.
- ``cache.rate_input(ds, f, by)``: cases + person-years by ``by`` + age group for the selection
  (``by`` from year, sex, region_code, parent_code, site); ``cache.dsr``, ``cache.age_specific``,
  ``cache.cumulative_risk``, ``cache.ci5_table`` wrap analytics.rates on it (public mode applied).

Conventions
- Pages are thin: read ``f``, call ``analytics`` (through ``cache`` when it is costly), render.
- The URL is the state. The shared filters live in ``st.query_params`` (``filters.PARAMS``);
  a page-level control that must survive a shared link uses ``filters.page_control(name, ...)``
  or ``filters.page_toggle(name, label)``; prefix ``name`` with the page (``inc_log``).
- Widget keys: shared filters ``f_<param>``, page controls ``p_<name>``, chart downloads
  ``dl_<fmt>_<chart name>``; give every chart a unique ``name``.
- Your own ``st.cache_data`` functions take ``ds.token`` and ``f.key()`` as hashed arguments and
  the data as ``_``-prefixed (unhashed) ones; cache aggregates, never an upload's records.
- Every chart goes through ``widgets.chart_with_table`` (table twin, CSV/Excel/PNG/SVG/PDF
  downloads with the provenance footer, "Add to presentation").

Saying what is shown (``analytics.describe``; new pages — mortality, survival, report — use the same)
- ``st.caption(widgets.page_caption(f, ds, measure=...))`` under the title: the data set and the whole
  selection (sex, site, region, period, ages; standard population and CI method where the measure
  uses them).
- ``d = widgets.describe(f, ds, frame, "asr", sexes=(1, 2), area=None, years=(y0, y1), ...)``: the
  description of the frame you draw. ``frame``'s own sex/year/site/region/age columns say what is
  shown; the keywords say how the numbers were computed where that differs from the sidebar (a
  men/women chart, the whole country, all years). Every sidebar filter the view does not follow is
  named in a note automatically. Measures (``analytics.describe.MEASURES``): cases, crude_rate,
  asr, cum_risk, age_specific, ci5_table, population, sir, smoothed, smoothed_local, prob_gt_1,
  significance, lisa, funnel, profile, trend, apc, prevalence(_proportion/_asr), projection,
  decomposition, quality, risk_factor, regression; add yours to ``MEASURES`` (what it uses: a
  standard, a kind of CI, a reference) and its name to ``data/i18n/*/describe.json``
  (``measure.<key>``). ``label=`` names a measure in words where the catalogue's is too general;
  ``notes=`` adds sentences (e.g. why two pages count differently).
- Pass it on: ``widgets.chart_with_table(..., desc=d)`` writes it under the chart, into the
  figure (``layout.meta["description"]``), the Excel metadata sheet, the PNG/SVG/PDF footer (and
  the PNG's ``Description`` text chunk) and the slide; a table download takes
  ``widgets.meta_of(title, d, f, ds)``. Titles: ``f"{base}: {d.context(f.lang)}"`` (sex, region,
  ages when restricted; the period); sentences: ``d.scope_phrase(f.lang)`` leads them
  ("Stomach, women, Absheron Economic Region: ...").
- Region names: ``text.region_name(code, lang, level=, fallback=)`` (``regions.json``; an upload's
  own regions keep their file's names); risk factors: ``analytics.labels.risk_factor_label``.
- Tables on screen: ``tables.show`` translates headers and codes; downloads keep column names and
  codes. Wide charts on phones: ``chart_with_table(..., min_width=640)`` scrolls sideways.
"""
