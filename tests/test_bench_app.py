"""bench/app.py's view of the page (issue 12): the signature of the drawn charts, which tells a
filter step's new view from the old one, follows the charts' SVG; it is hashed again only after
the document changed, so the bench's polling does not take the main thread from the drawing it
times. Checked in Debian's chromium on a page of two stand-in charts (no server)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page

from test_bench_cpu import bench_module

pytestmark = pytest.mark.browser
URL = "http://bench.test/"
CHART = ('<div data-testid="stPlotlyChart"><div class="js-plotly-plot"><svg class="main-svg">'
         '<g class="trace"><path class="point" d="M0,0L{x},1"></path></g></svg></div></div>')


@pytest.fixture()
def charts(page: Page) -> Page:
    """Two stand-in charts with the bench's script loaded before the page's own."""
    page.add_init_script(bench_module("app").INIT_JS)
    page.route(URL, lambda route: route.fulfill(content_type="text/html",
                                                body=f"<html><body>{CHART.format(x=1)}{CHART.format(x=2)}</body></html>"))
    page.goto(URL)
    return page


def test_signature_changes_with_the_drawing_and_comes_back_with_it(charts: Page):
    sig = lambda: charts.evaluate("window.__sig()")   # noqa: E731 - read in the page each time
    first = sig()
    path = 'document.querySelectorAll("path.point")[1]'
    charts.evaluate(f'{path}.setAttribute("d", "M0,0L5,1")')
    changed = sig()
    charts.evaluate(f'{path}.setAttribute("d", "M0,0L2,1")')
    assert changed != first and sig() == first
    charts.evaluate('document.querySelector("g.trace").insertAdjacentHTML("beforeend", \'<path class="point"></path>\')')
    assert sig() not in (first, changed)
    assert charts.evaluate("window.__marks()") == [2, 1]


def test_signature_is_not_hashed_again_while_nothing_changes(charts: Page):
    """Between changes the stored hash is returned: the markup is not read (innerHTML not called)."""
    first = charts.evaluate("window.__sig()")
    reads = charts.evaluate("""() => {
      let n = 0;
      const desc = Object.getOwnPropertyDescriptor(Element.prototype, 'innerHTML');
      Object.defineProperty(Element.prototype, 'innerHTML', {configurable: true, get() { n++; return desc.get.call(this); }});
      const sigs = [window.__sig(), window.__sig(), window.__sig()];
      const quiet = n;
      document.querySelector('path.point').setAttribute('d', 'M0,0L9,1');
      return new Promise(done => setTimeout(() => {        // the observer's records come in a microtask
        const after = window.__sig();
        Object.defineProperty(Element.prototype, 'innerHTML', desc);
        done({sigs, quiet, after, reads: n});
      }, 0));
    }""")
    assert reads["sigs"] == [first] * 3 and reads["quiet"] == 0
    assert reads["after"] != first and reads["reads"] == 2      # hashed again once the chart changed
