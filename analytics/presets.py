"""Presets that fix method, standard, thresholds, rounding and suppression like the tools people
compare against: IARC CI5/CanReg5 (``ci5``), NCI SEER*Stat/USCS (``seer``), OHID/PHE Fingertips
(``phe``). Sources for each choice are in docs/methods.md §1, §8 and §10.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from analytics import disclosure, rates
from analytics.i18n import format_number
from analytics.strata import as_list

MINUS = "\u2212"          # typographic minus: "−1.2", never lost in a proportional font
P_FLOOR = 0.001             # p-values below print as "p < 0.001"
NUMBER_KINDS = ("rate", "percent", "ratio", "apc", "count", "p")


@dataclass(frozen=True)
class NumberFormat:
    """One decimal policy: how many decimals each kind of number gets, wherever it is printed
    (tables rounded by :func:`finish`, sentences, metric tiles, chart labels and hovers).

    ``rate``: rates per 100,000 and proportions (ASR, crude, prevalence); ``percent``: shares and
    risks in % (cumulative risk, case mix); ``ratio``: SIR, rate ratios (read around 1: one more
    decimal than rates, as SEER*Stat prints SIRs); ``apc``: annual percent changes and their CIs
    (as Joinpoint); ``count``: cases and people; ``p``: p-values, printed "p < 0.001" below
    ``p_floor``."""

    rate: int = 1
    percent: int = 1
    ratio: int = 2
    apc: int = 1
    count: int = 0
    p: int = 3
    p_floor: float = P_FLOOR

    def decimals(self, kind: str) -> int:
        if kind not in NUMBER_KINDS:
            raise ValueError(f"unknown number kind {kind!r}; choose one of {', '.join(map(repr, NUMBER_KINDS))}")
        return int(getattr(self, kind))

    def d3(self, kind: str) -> str:
        """The plotly/d3 format of that kind (hovers, text templates): ",.1f"."""
        return f",.{self.decimals(kind)}f"


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    method: str                      # DSR confidence interval (rates.DSR_METHODS)
    standard: str                    # standards catalogue name
    conf: tuple[float, ...] = (0.95,)
    multiplier: float = 100000
    min_count: int = 0               # no DSR below this many cases
    unreliable_below: int | None = None   # flag rates on fewer cases
    withhold_unreliable: bool = False     # and blank them (USCS rule)
    suppress_below: int | None = None     # primary suppression threshold k for counts
    unknown_age: str = "exclude"
    decimals: int = 1
    truncated_ages: tuple[int, int] | None = None
    cumulative_max_age: int = 74
    isr_method: str = "exact"
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def number_format(self) -> NumberFormat:
        """The preset's decimal policy (:class:`NumberFormat`), derived from ``decimals``."""
        return NumberFormat(rate=self.decimals, percent=self.decimals, ratio=self.decimals + 1,
                            apc=self.decimals)

    def dsr_kwargs(self) -> dict:
        """Keyword arguments for :func:`analytics.rates.dsr`."""
        conf = self.conf[0] if len(self.conf) == 1 else list(self.conf)
        return dict(method=self.method, standard=self.standard, conf=conf,
                    multiplier=self.multiplier, min_count=self.min_count,
                    unknown_age=self.unknown_age)

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "ci5": Preset(
        name="ci5", label="IARC CI5 / CanReg5", method="normal", standard="world_segi1960",
        unknown_age="redistribute", decimals=1, truncated_ages=(35, 64), cumulative_max_age=74,
        isr_method="exact",
        source="Bray et al., CI5 Vol. XI technical notes; CanReg5 conf/tables/r/Funct_rates.r (CalcASR)",
        notes=("ASR ± 1.96·SE as CanReg5", "unknown age redistributed in proportion to known ages",
               "truncated ASR 35-64 and cumulative risk 0-74")),
    "seer": Preset(
        name="seer", label="NCI SEER*Stat / USCS", method="tiwari", standard="us_2000",
        unreliable_below=16, withhold_unreliable=True, suppress_below=16, decimals=1,
        isr_method="exact",
        source="SEER*Stat rate algorithms (Tiwari et al. 2006 option); CDC USCS suppression rule",
        notes=("US 2000 standard (P25-1130 persons)", "counts and rates on fewer than 16 cases withheld")),
    "phe": Preset(
        name="phe", label="OHID / PHE Fingertips", method="dobson", standard="europe_2013",
        conf=(0.95, 0.998), min_count=10, decimals=1, isr_method="auto",
        source="PHEindicatormethods calculate_dsr / calculate_ISRatio",
        notes=("DSR not calculated for fewer than 10 events", "Byar limits; exact below 10 for ISR")),
}


DEFAULT_PRESET = "ci5"


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


def catalogue() -> pd.DataFrame:
    """One row per preset with its settings."""
    return pd.DataFrame([p.as_dict() for p in PRESETS.values()])


def customise(name: str, **changes) -> Preset:
    """A copy of a preset with some settings changed (e.g. ``customise("seer", standard="world_segi1960")``)."""
    return replace(get(name), **changes)


def table_dimensions(by) -> dict:
    """rows/cols/layers for complementary suppression of a table grouped by ``by``: the last two
    ``by`` columns span the two-way table (e.g. sex × site), the others are layers (e.g. region)."""
    by = as_list(by)
    if len(by) < 2:
        return {}
    return {"rows": [by[-2]], "cols": [by[-1]], "layers": by[:-2] or None}


def finish(result: pd.DataFrame, preset: Preset | str, *, count: str = "count", rows=None, cols=None,
           layers=None) -> pd.DataFrame:
    """Apply a preset's reliability rule, suppression and rounding to a rate result.

    With ``rows`` and ``cols`` (see :func:`table_dimensions`) the suppression is complementary
    (:func:`analytics.disclosure.suppress`), so a withheld cell cannot be recovered from totals.
    Records the rules in ``attrs["preset"]`` and ``attrs["disclosure"]``.
    """
    p = get(preset) if isinstance(preset, str) else preset
    out = result.copy()
    attrs = dict(result.attrs)
    if p.unreliable_below:
        rate_cols = [c for c in out.columns if c in ("value", "se", "crude_rate")
                     or c.startswith("lower") or c.startswith("upper")]
        out = disclosure.flag_unreliable(out, p.unreliable_below, count=count,
                                         blank=rate_cols if p.withhold_unreliable else ())
    if p.suppress_below:
        info = out.attrs.get("disclosure", {})
        out = disclosure.suppress(out, p.suppress_below, count=count, rows=rows, cols=cols, layers=layers)
        out.attrs["disclosure"] = {**info, **out.attrs["disclosure"]}
    numeric = [c for c in out.columns if c not in (count, "population", "unknown_age")
               and not c.endswith("_p") and pd.api.types.is_float_dtype(out[c])]
    # Ratios (SIR, rate ratios) are read around 1: one more decimal than rates (SEER*Stat prints
    # SIRs to 2 decimals); p-values are never rounded. The same policy formats every printed number.
    decimals = p.number_format.decimals("ratio" if "ratio" in str(attrs.get("measure", "")) else "rate")
    out[numeric] = out[numeric].round(decimals)
    out.attrs = {**attrs, **out.attrs, "preset": p.name, "preset_source": p.source}
    return out


def dsr(data: pd.DataFrame, preset: str = "ci5", **overrides) -> pd.DataFrame:
    """:func:`analytics.rates.dsr` with a preset's settings, then :func:`finish`."""
    p = get(preset)
    kwargs = {**p.dsr_kwargs(), **overrides}
    return finish(rates.dsr(data, **kwargs), p, count="count", **table_dimensions(kwargs.get("by")))


# --------------------------------------------------------------------------------------------
# printed numbers: one policy (the preset's) for every formatter


def number_format(preset: Preset | str | None = None) -> NumberFormat:
    """The decimal policy of ``preset`` (a name or a :class:`Preset`; None: the default preset)."""
    if isinstance(preset, NumberFormat):
        return preset
    p = get(preset or DEFAULT_PRESET) if not isinstance(preset, Preset) else preset
    return p.number_format


def fmt(x, kind: str = "rate", lang: str = "en", *, preset=None, signed: bool = False) -> str:
    """A number of ``kind`` as the language writes it, with the policy's decimals. Negative
    numbers carry a typographic minus ("−2.1"); ``signed=True`` also puts "+" before positive
    ones (changes). A value that rounds to zero is written without a sign ("0.0", never "−0.0").
    Missing values give an en dash."""
    nf = number_format(preset)
    if kind == "p":
        return fmt_p(x, lang, preset=nf, prefix=False)
    return signed_number(x, lang, nf.decimals(kind), plus=signed)


def signed_number(x, lang: str = "en", decimals: int = 1, *, plus: bool = False) -> str:
    """``x`` with ``decimals`` as the language writes it, a typographic minus on negative
    numbers ("−2.1"), "+" on positive ones with ``plus``, no sign on a value that rounds to 0."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return format_number(x, lang, decimals)
    if not math.isfinite(v):
        return format_number(v, lang, decimals)
    r = round(v, decimals)
    if r == 0:
        return format_number(0.0, lang, decimals)
    text = format_number(abs(v), lang, decimals)
    if r < 0:
        return MINUS + text
    return ("+" + text) if plus else text


def fmt_p(p, lang: str = "en", *, preset=None, prefix: bool = True) -> str:
    """A p-value: "p < 0.001" below the policy's floor, else "p = 0.034" (``prefix=False``:
    "< 0.001" / "0.034", for a table cell). Never "p = 0.000"."""
    nf = number_format(preset)
    try:
        v = float(p)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        return format_number(math.nan, lang)
    if v < nf.p_floor:
        text = "< " + format_number(nf.p_floor, lang, nf.p)
    else:
        # a p-value just under the floor must not round up to print as the floor itself, and
        # one that rounds to 1 prints as 1 (p-values are never above 1)
        text = ("= " if prefix else "") + format_number(min(v, 1.0), lang, nf.p)
    return ("p " + text) if prefix else text
