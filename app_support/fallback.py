"""Stand-ins for analytics modules that have not landed yet (removed as they land).

``module(name)`` returns ``analytics.<name>`` when importable, else this module, which holds
minimal builders with the same call signature.
"""
from __future__ import annotations


def module(name: str):
    """``analytics.<name>`` when it has landed, else this module's stand-ins."""
    import importlib
    import sys

    try:
        return importlib.import_module(f"analytics.{name}")
    except ImportError:
        return sys.modules[__name__]


def indicator_bars(table, *, x, y, target=None, title="", theme="light", **_):
    """Bars of one quality indicator with the target as a dashed line (until analytics.charts.quality)."""
    import plotly.graph_objects as go

    from analytics.charts.base import new_figure

    fig = new_figure(title, theme)
    fig.add_trace(go.Bar(x=table[x].astype(str), y=table[y], marker_color="#0072B2",
                         hovertemplate="%{x}: %{y:.1f}<extra></extra>"))
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", line_color="#D55E00")
    fig.update_layout(height=460, xaxis_tickangle=-45)
    return fig
