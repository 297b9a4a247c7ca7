"""The shared sidebar: every filter's value lives in the URL (``st.query_params``).

Flow on every run: the canonical values (session dict ``_filters``, first filled from the URL
of the session's first request) seed the widgets; the widgets' values are written back to the
canonical dict and to the URL. A page switch through the navigation (which drops the query
string) therefore keeps the filters, and a copied address reproduces the view exactly.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable

import streamlit as st

from analytics import schema as S
from app_support import auth, state
from app_support.text import LANGS, region_name, site_name, t

PARAMS = ("y0", "y1", "sex", "scheme", "site", "er", "district", "a0", "a1",
          "std", "ci", "conf", "public", "lang", "theme", "measure")
SEXES = ("both", "male", "female")
SCHEMES = {"ci5": S.SITE_CI5, "globocan": S.SITE_GLOBOCAN}
from analytics.cube import ALL_BUT_C44, ALL_SITES  # noqa: E402  (one definition)
CONF_LEVELS = ("90", "95", "99", "99.8")
THEMES = ("light", "presentation")  # analytics.charts.base.template_name
AGE_STARTS = [int(a) for a in S.age_group_edges()]
from analytics.tables import PUBLIC_K  # noqa: E402  (threshold of public output, one definition)
from analytics.mortality import INCIDENCE, MEASURES, MORTALITY  # noqa: E402  (one definition)


def _standards() -> list[str]:
    """The named standards (aliases) of analytics.standards; the default first."""
    from analytics import standards

    return list(standards.ALIASES)


def _ci_methods() -> list[str]:
    from analytics.rates import DSR_METHODS

    return list(DSR_METHODS)


def _standard_label(name: str, lang: str) -> str:
    from analytics.i18n import standard_label

    return standard_label(name, lang)


@dataclasses.dataclass(frozen=True)
class Filters:
    y0: int
    y1: int
    sex: str            # "both" | "male" | "female"
    scheme: str         # "ci5" | "globocan"
    site: str           # site label of the scheme, or ALL_SITES / ALL_BUT_C44
    er: str             # economic region code or "all"
    district: str       # district (region_code) or "all"
    a0: int             # first age-group start
    a1: int             # last age-group start
    std: str            # standard population name (analytics.standards)
    ci: str             # CI method for rates.dsr
    conf: str           # "95" ...
    public: bool        # disclosure control on
    lang: str
    theme: str
    measure: str = INCIDENCE   # "incidence" | "mortality": what the counts are (measure_switch)

    # --- derived ------------------------------------------------------------------
    def t(self, key: str, **fmt) -> str:
        return t(key, self.lang, **fmt)

    @property
    def mortality(self) -> bool:
        return self.measure == MORTALITY

    def tm(self, key: str, **fmt) -> str:
        """The text of ``key`` for the measure shown: with mortality, the ``mortality`` catalogue's
        twin of the key (``app.incidence.by_site_title`` -> ``mortality.incidence.by_site_title``)."""
        if self.mortality:
            key = "mortality." + key.split(".", 1)[1]
        return t(key, self.lang, **fmt)

    def site_name(self, label: str) -> str:
        if label == ALL_SITES:
            return self.t("app.site.all")
        if label == ALL_BUT_C44:
            return self.t("app.site.all_but_c44")
        return site_name(label, self.lang)

    @property
    def er_name_column(self) -> str:
        """Column of ``Dataset.regions`` naming economic regions in this language."""
        return S.PARENT_NAME if self.lang == "az" else "parent_name_en"

    @property
    def level(self) -> float:
        return float(self.conf) / 100

    @property
    def site_column(self) -> str:
        return SCHEMES[self.scheme]

    @property
    def sex_codes(self) -> tuple[int, ...]:
        return {"both": (S.MALE, S.FEMALE, S.UNKNOWN_SEX), "male": (S.MALE,), "female": (S.FEMALE,)}[self.sex]

    @property
    def age_groups(self) -> list[str]:
        return [lab for s, lab in zip(AGE_STARTS, S.AGE_GROUPS) if self.a0 <= s <= self.a1]

    @property
    def n_years(self) -> int:
        return self.y1 - self.y0 + 1

    def key(self) -> tuple:
        """Hashable identity for caches."""
        return dataclasses.astuple(self)

    def region_codes(self, regions) -> tuple[str, ...] | None:
        """District codes of the selection, or None for the whole country."""
        if self.district != "all":
            return (self.district,)
        if self.er != "all":
            return tuple(regions.loc[regions[S.PARENT] == self.er, S.REGION])
        return None

    def selection(self, regions, sexes: tuple[int, ...] | None = None):
        """This selection as an ``analytics.cube.Selection`` (``sexes`` overrides the sex filter)."""
        from analytics.cube import Selection

        codes = self.region_codes(regions)
        return Selection(years=(self.y0, self.y1), sexes=tuple(sexes or self.sex_codes),
                         regions=None if codes is None else tuple(codes), ages=tuple(self.age_groups), site=self.site)

    def period_label(self) -> str:
        return f"{self.y0}–{self.y1}" if self.y1 > self.y0 else str(self.y0)

    def source(self, ds: "state.Dataset") -> str:
        """The data set's name in this language (the demo's name is a catalogue entry; an
        upload is named by its file)."""
        return self.t("app.demo_name") if ds.is_demo else ds.label

    def describe(self, ds: "state.Dataset") -> dict[str, str]:
        """The selection in words (this language), for export metadata and provenance footers."""
        region = "all"
        if self.district != "all":   # names in this language (regions.json), else the file's
            region = region_name(self.district, self.lang, level=S.REGION,
                                 fallback=_name(ds.regions, S.REGION, S.REGION_NAME, self.district))
        elif self.er != "all":
            region = region_name(self.er, self.lang, level=S.PARENT,
                                 fallback=_name(ds.regions, S.PARENT, self.er_name_column, self.er))
        return {
            "source": self.source(ds), "period": self.period_label(), "sex": self.t(f"app.sex.{self.sex}"),
            "site": self.site_name(self.site), "site_list": self.t(f"app.scheme.{self.scheme}"), "region": region,
            "ages": f"{self.a0}–{self.a1 if self.a1 < 85 else '85+'}",
            "standard": f"{_standard_label(self.std, self.lang)} ({self.std})",
            "method": f"{self.t(f'app.ci.{self.ci}')}, {self.conf} % CI",
            "public_output": self.t("app.public.on" if self.public else "app.public.off"),
            "date": dt.date.today().isoformat(),
        } | ({"measure": self.measure_label(ds)} if self.mortality else {})

    def measure_label(self, ds: "state.Dataset") -> str:
        """"Mortality (vital statistics deaths table)" or "Mortality (derived from the registry's
        records)"; "Incidence" otherwise."""
        if not self.mortality:
            return self.t("mortality.measure.incidence")
        return self.t("mortality.measure.mortality_from", source=self.t(f"mortality.source.{mortality_source(ds)}"))


def mortality_source(ds: "state.Dataset") -> str:
    """Where the data set's deaths come from: ``deaths_table`` (vital statistics) or
    ``registry_records`` (derived from the registry's records; ``analytics.mortality``)."""
    from analytics import mortality

    return mortality.SOURCE_TABLE if getattr(ds.registry, "deaths", None) is not None else mortality.SOURCE_RECORDS


def _name(df, code_col, name_col, code) -> str:
    hit = df.loc[df[code_col] == code, name_col]
    return str(hit.iloc[0]) if len(hit) else code


# --- canonical state ------------------------------------------------------------------
def _canonical() -> dict[str, str]:
    ss = st.session_state
    if "_filters" not in ss:
        qp = st.query_params
        ss["_filters"] = {k: qp.get(k) for k in PARAMS if qp.get(k) is not None}
        ss["_url_given"] = dict(ss["_filters"])   # checked once against what the page uses
    return ss["_filters"]


URL_NOTE_CHARS = 40


def shown_value(value: Any) -> str:
    """A value from the URL as inert text for a message: shortened and in a code span, so that
    nothing a link carries is rendered as Markdown, LaTeX, an image or a link."""
    text = str(value).replace("`", "'").replace("\n", " ").replace("\r", " ")
    if len(text) > URL_NOTE_CHARS:
        text = text[:URL_NOTE_CHARS] + "…"
    return f"`{text}`" if text.strip() else "` `"


def _url_notes(canon: dict, lang: str) -> list[str]:
    """Sentences for the address's filter values that were not used as given (out of range,
    unknown, not a number): each says what was asked for and what is shown instead."""
    given = st.session_state.pop("_url_given", None) or {}
    return [t("url.replaced", lang, param=k, given=shown_value(v), used=shown_value(canon.get(k)))
            for k, v in given.items() if str(v) != str(canon.get(k))]


def current_lang() -> str:
    """The language before the sidebar is drawn (app.py needs it for the navigation titles)."""
    lang = _canonical().get("lang") or st.query_params.get("lang")
    return lang if lang in LANGS else "en"


def dataset() -> "state.Dataset":
    return state.active()


def _int(v: Any, default: int, lo: int, hi: int) -> int:
    """An integer URL value clamped to [lo, hi]; anything that is not a finite number (text,
    ``inf``, ``nan``, ``1e400``) gives ``default``."""
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        return default
    if x != x or x in (float("inf"), float("-inf")):
        return default
    return min(max(int(x), lo), hi)


def _choose(v: Any, options, default):
    return v if v in options else default


def _store(*names: str) -> Callable[[], None]:
    """on_change callback: a user's change of widget ``f_<name>`` becomes the canonical value.

    Callbacks run only on a user's interaction, before the script, so the canonical values
    are the single truth: widgets are re-seeded from them on every run (after a page switch
    Streamlit may have dropped or reset the widget's own state)."""
    def cb() -> None:
        canon = _canonical()
        for name in names:
            value = st.session_state.get(f"f_{name}")
            if name in ("period", "ages"):
                if not isinstance(value, (tuple, list)) or len(value) != 2:
                    continue  # a page switch can replay a stale single value: not a user's range
                lo, hi = (int(v) for v in value)
                keys = ("y0", "y1") if name == "period" else ("a0", "a1")
                canon[keys[0]], canon[keys[1]] = str(lo), str(hi)
            elif name == "public" and auth.public_forced():
                canon[name] = "1"       # a client cannot switch disclosure control off
            else:
                canon[name] = value
    return cb


def _widget(name: str, options: list, default, make: Callable[..., Any], **kw) -> Any:
    """Seed a keyed widget from the canonical value, draw it, store its value back."""
    canon = _canonical()
    wkey = f"f_{name}"
    value = canon.get(name, default)
    if value not in options:
        value = default
    st.session_state[wkey] = value
    out = make(options=options, key=wkey, on_change=_store(name), **kw)
    canon[name] = out
    return out


def sidebar_filters() -> Filters:
    """Draw the shared sidebar and return the current selection. Call it first in every page."""
    from app_support import navigation

    navigation.ensure(current_lang())
    auth.require(auth.VIEW_AGGREGATES)
    ds = state.active()
    from app_support import cache

    opts = cache.filter_options(ds)
    canon = _canonical()
    lang = current_lang()
    tr = lambda k, **fmt: t(k, lang, **fmt)  # noqa: E731
    sb = st.sidebar
    ss = st.session_state

    # Language first: every other label depends on it.
    lang = _widget("lang", list(LANGS), "en",
                   lambda **kw: sb.selectbox(tr("app.filter.lang"), format_func=LANGS.get, **kw))
    tr = lambda k, **fmt: t(k, lang, **fmt)  # noqa: E731

    ymin, ymax = opts["years"]
    y0 = _int(canon.get("y0"), max(ymin, ymax - 4), ymin, ymax)
    y1 = _int(canon.get("y1"), ymax, ymin, ymax)
    y0, y1 = min(y0, y1), max(y0, y1)
    ss["f_period"] = (y0, y1)
    if ymin == ymax:
        period = (ymin, ymax)
        sb.caption(f"{tr('app.filter.period')}: {ymin}")
    else:
        period = sb.slider(tr("app.filter.period"), min_value=ymin, max_value=ymax, step=1, key="f_period",
                           on_change=_store("period"))
    canon["y0"], canon["y1"] = int(period[0]), int(period[1])

    sex = _widget("sex", list(SEXES), "both",
                  lambda **kw: sb.radio(tr("app.filter.sex"), horizontal=True,
                                        format_func=lambda s: tr(f"app.sex.{s}"), **kw))
    scheme = _widget("scheme", list(SCHEMES), "ci5",
                     lambda **kw: sb.radio(tr("app.filter.scheme"), horizontal=True,
                                           format_func=lambda s: tr(f"app.scheme.{s}"), **kw))
    sites = opts[scheme]
    _site_fmt = lambda s: tr("app.site.all") if s == ALL_SITES else (  # noqa: E731
        tr("app.site.all_but_c44") if s == ALL_BUT_C44 else site_name(s, lang))
    site = _widget("site", sites, ALL_SITES,
                   lambda **kw: sb.selectbox(tr("app.filter.site"), format_func=_site_fmt, **kw))

    er_names = opts["er_names"] if lang == "az" else opts["er_names_en"]
    # names in this language where the catalogue knows the region (regions.json), else the file's
    er_names = {c: region_name(c, lang, level=S.PARENT, fallback=n) for c, n in er_names.items()}
    er = _widget("er", opts["er"], "all",
                 lambda **kw: sb.selectbox(tr("app.filter.er"),
                                           format_func=lambda c: tr("app.region.all") if c == "all" else er_names.get(c, c), **kw))
    dists = [d for d in opts["districts"] if er == "all" or d[2] == er]
    dnames = {d[0]: d[1] for d in dists}
    dnames = {c: region_name(c, lang, level=S.REGION, fallback=n) for c, n in dnames.items()}
    dists = sorted(dists, key=lambda d: dnames.get(d[0], d[0]))
    district = _widget("district", ["all"] + [d[0] for d in dists], "all",
                       lambda **kw: sb.selectbox(tr("app.filter.district"),
                                                 format_func=lambda c: tr("app.region.all") if c == "all" else dnames.get(c, c), **kw))

    a0 = _int(canon.get("a0"), 0, 0, 85)
    a1 = _int(canon.get("a1"), 85, 0, 85)
    a0, a1 = (a0 // 5) * 5, (a1 // 5) * 5
    ss["f_ages"] = (min(a0, a1), max(a0, a1))
    ages = sb.select_slider(tr("app.filter.ages"), options=AGE_STARTS, key="f_ages", on_change=_store("ages"),
                            format_func=lambda a: S.AGE_GROUPS[AGE_STARTS.index(a)])
    canon["a0"], canon["a1"] = int(ages[0]), int(ages[1])

    with sb.expander(tr("app.filter.methods"), expanded=False):
        std = _widget("std", _standards(), _standards()[0],
                      lambda **kw: st.selectbox(tr("app.filter.std"), format_func=lambda s: _standard_label(s, lang), **kw))
        ci = _widget("ci", _ci_methods(), "tiwari",
                     lambda **kw: st.selectbox(tr("app.filter.ci"), format_func=lambda m: tr(f"app.ci.{m}"), **kw))
        conf = _widget("conf", list(CONF_LEVELS), "95",
                       lambda **kw: st.selectbox(tr("app.filter.conf"), format_func=lambda c: f"{c} %", **kw))
    # public mode and the viewer role: disclosure control on whatever the URL or the client says
    forced = auth.public_forced()
    if forced:
        canon["public"] = "1"
    public = _widget("public", ["0", "1"], "0",
                     lambda **kw: sb.radio(tr("app.filter.public"), horizontal=True, disabled=forced,
                                           help=tr("auth.public_forced") if forced else None,
                                           format_func=lambda v: tr("app.public.on") if v == "1" else tr("app.public.off"), **kw))
    if forced:
        public = canon["public"] = "1"
    theme = _widget("theme", list(THEMES), "light",
                    lambda **kw: sb.radio(tr("app.filter.theme"), horizontal=True,
                                          format_func=lambda v: tr(f"app.theme.{v}"), **kw))

    if "measure" in canon and canon["measure"] not in MEASURES:   # the switch itself is on its pages
        canon["measure"] = INCIDENCE
    f = Filters(y0=canon["y0"], y1=canon["y1"], sex=sex, scheme=scheme, site=site, er=er, district=district,
                a0=canon["a0"], a1=canon["a1"], std=std, ci=ci, conf=conf, public=public == "1",
                lang=lang, theme=theme)
    _write_url(canon)
    notes = _url_notes(canon, lang)
    if notes:
        st.warning("  \n".join(notes), icon=":material/link_off:")
    if theme == "presentation":
        # Screens and projectors: larger type and full contrast for the page itself too.
        st.html("<style>.stMain [data-testid='stMarkdownContainer'] p, .stMain li {font-size: 1.3rem; color: #000;}"
                " .stMain h1 {font-size: 3rem;} .stMain [data-testid='stMetricValue'], .stMain [data-testid='stMetricValue'] * {font-size: 3rem !important; line-height: 1.2;}"
                # captions (what a chart shows, its reading) and metric labels at reading size too
                " .stMain [data-testid='stCaptionContainer'], .stMain [data-testid='stCaptionContainer'] p,"
                " .stMain [data-testid='stMetricLabel'] p {font-size: 1.25rem !important; color: #111 !important;}</style>")
    from app_support import widgets

    widgets.deck_sidebar(f)
    return f


def reset_period() -> None:
    """Forget the chosen period, e.g. after another data set was loaded: the sidebar starts
    again from that data's own years (its last five) instead of clamping the old choice."""
    canon = _canonical()
    for k in ("y0", "y1"):
        canon.pop(k, None)
        if k in st.query_params:
            del st.query_params[k]
    st.session_state.pop("f_period", None)


def measure_switch(f: Filters) -> Filters:
    """The incidence / mortality switch of a page (query parameter ``measure``; any other value
    reads as incidence). Returns ``f`` with the chosen measure; with mortality, says where the
    deaths come from and how many were counted and excluded (the account in an expander)."""
    canon = _canonical()
    lang = f.lang
    measure = _widget("measure", list(MEASURES), INCIDENCE,
                      lambda **kw: st.radio(t("mortality.switch.label", lang), horizontal=True,
                                            format_func=lambda v: t(f"mortality.measure.{v}", lang), **kw))
    _write_url(canon)
    f = dataclasses.replace(f, measure=measure)
    if f.mortality:
        mortality_note(f, state.active())
    return f


def mortality_note(f: Filters, ds: "state.Dataset") -> None:
    """One line naming the source of the deaths, and the account of every death read."""
    from app_support import cache, tables

    source = mortality_source(ds)
    if f.public:   # exact numbers of deaths read and excluded, and their account, are not public output
        st.caption(t(f"disclosure.mortality_source_{source}", f.lang))
        return
    events = cache.mortality_events(ds, f.site_column)
    st.caption(t(f"mortality.source.note_{source}", f.lang, counted=_fmt(events.n_counted, f.lang),
                 excluded=_fmt(events.n_excluded, f.lang)))
    with st.expander(t("mortality.account.title", f.lang), expanded=False):
        recon = events.reconciliation.assign(
            status=events.reconciliation["status"].map(lambda v: t(f"mortality.account.{v}", f.lang)),
            description=events.reconciliation["reason"].map(lambda r: t(f"mortality.reason.{r}", f.lang)))
        tables.show(recon[["status", "description", "rows", "deaths"]], lang=f.lang, key="mortality_account",
                    headers={"status": t("mortality.account.status", f.lang),
                             "description": t("mortality.account.reason", f.lang),
                             "rows": t(f"mortality.account.rows_{source}", f.lang),
                             "deaths": t("mortality.col.deaths", f.lang)})


def _fmt(x, lang: str) -> str:
    from analytics.i18n import format_number

    return format_number(x, lang, 0)


def _write_url(canon: dict) -> None:
    """The shared filters into the address, in one update: each assignment to ``st.query_params``
    is a message to the browser, which rewrites its history entry and re-renders the app for it
    (a page opened from the sidebar starts without parameters: some 15 messages, one per filter)."""
    qp = st.query_params
    changed = {k: str(canon[k]) for k in PARAMS if canon.get(k) is not None and qp.get(k) != str(canon[k])}
    if changed:
        qp.update(changed)


def _page_store() -> dict:
    return st.session_state.setdefault("_page_params", {})


def _from_url(name: str, store: dict) -> str | None:
    """The URL's value of a page control the first time the page reads it (else None)."""
    if name not in store and st.query_params.get(name) is not None:
        store[name] = st.query_params.get(name)
        return store[name]
    return None


def _page_note(name: str, given: str | None, used: Any) -> None:
    """A visible note when the address asked for a value this control does not offer."""
    if given is not None and str(given) != str(used):
        st.caption(t("url.replaced", current_lang(), param=name, given=shown_value(given), used=shown_value(used)))


def page_control(name: str, default: str, options: list[str], make: Callable[..., Any]) -> Any:
    """A page-level choice kept in the URL (e.g. the map level); ``make(options=, key=)`` draws it.

    ``name`` becomes the query parameter: prefix it with the page (``inc_level``).
    """
    wkey = f"p_{name}"
    ss = st.session_state
    store = _page_store()
    given = _from_url(name, store)
    if wkey not in ss or ss[wkey] not in options:
        v = store.get(name, default)
        ss[wkey] = v if v in options else default
    out = make(options=options, key=wkey)
    _page_note(name, given, out)
    store[name] = out
    if st.query_params.get(name) != str(out):
        st.query_params[name] = str(out)
    return out


def page_toggle(name: str, label: str, default: bool = False) -> bool:
    """An on/off page control kept in the URL as ``name=1`` / ``name=0``."""
    wkey = f"p_{name}"
    ss = st.session_state
    store = _page_store()
    given = _from_url(name, store)
    if wkey not in ss:
        ss[wkey] = store.get(name, "1" if default else "0") == "1"
    out = bool(st.toggle(label, key=wkey))
    store[name] = "1" if out else "0"
    _page_note(name, given, store[name])
    if st.query_params.get(name) != store[name]:
        st.query_params[name] = store[name]
    return out
