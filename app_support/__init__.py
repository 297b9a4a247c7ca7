"""Streamlit glue for the dashboard: shared sidebar filters, cached data access, chart widgets.

How to write a page (``pages/<name>.py``; add its name to ``PAGES`` in ``app.py`` if new)::

    import streamlit as st
    from app_support import cache, filters, widgets

    f = filters.sidebar_filters()       # FIRST line: draws the shared sidebar, returns a Filters
    ds = filters.dataset()              # the active data (demo or the session's upload)
    st.title(f.t(...))                  # every visible text through f.t("<namespace>.<key>")
    table = cache.dsr(ds, f, by=("site",))          # cached aggregation + analytics.rates.dsr
    fig = some_analytics_chart_builder(table, lang=f.lang, theme=f.theme)
    widgets.chart_with_table(fig, table, name="mypage_asr", f=f, title="...")   # tabs, downloads, deck

Conventions
- Pages are thin: read ``f``, call ``analytics`` (through ``cache`` when it is costly), render.
- The URL is the state. The shared filters live in ``st.query_params`` (see ``filters.PARAMS``);
  a page-level control that must survive a shared link uses ``filters.page_control(...)``.
- Widget keys: shared filters use ``f_<param>``; page controls ``p_<page>_<name>``.
- Cached functions take the dataset token (``ds.token``) as the hashed argument and the data
  itself as an ``_``-prefixed (unhashed) argument, so uploads and the demo never collide.
- Every chart goes through ``widgets.chart_with_table`` (table twin, CSV/Excel/PNG/SVG/PDF
  downloads with the provenance footer, "Add to presentation").
"""
