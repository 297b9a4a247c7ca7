"""Chart builders: pure functions from tidy frames to plotly figures, shared by the
dashboard pages and the exports.

- :mod:`analytics.charts.base`: site and sex colours, light/presentation themes,
  provenance footer, marks for suppressed and unreliable values.
- :mod:`analytics.charts.incidence`: top sites (men left, women right), cases by site,
  population pyramid, cases per year, ASR by site, age-specific curves, regions compared.
- :mod:`analytics.charts.quality`: data-quality indicators against their targets.
- :mod:`analytics.charts.trends`, :mod:`analytics.charts.maps`: trends and maps (other modules).
- :mod:`analytics.charts.survival`: survival curves with confidence bands, survival by site.

Conventions every builder follows (so the page and the export show the same figure):
pure function ``frame -> go.Figure``; a ``lang`` argument and every visible string through
:func:`analytics.i18n.t` / :func:`~analytics.i18n.site_label`; a ``theme`` argument
("light" / "presentation") passed to :func:`base.new_figure` — or to :func:`base.figure_of`, which
makes the figure from its traces (:func:`base.trace` dicts) and whole layout in one constructor,
1-3 ms a figure cheaper than each later ``update_layout`` —, never a hard-coded font;
site colours from :func:`base.site_colour`, sex colours from :func:`base.sex_colour`;
legends above the plot (:data:`base.TOP_LEGEND`); ``return base.finish(fig)`` last, which
fits the margins.  :mod:`analytics.export` adds the provenance footer on export.

Submodules are imported on use, so a missing optional one never breaks the others.
"""
from analytics.charts.base import (  # noqa: F401  (the shared vocabulary every builder uses)
    SEX_COLOURS, SITE_COLOURS, Provenance, add_footer, apply_theme, sex_colour, site_colour,
    site_colour_map, template_name, value_text,
)
