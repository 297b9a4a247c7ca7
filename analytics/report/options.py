"""What a document covers and how its numbers are computed: :class:`ReportOptions`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from analytics import schema as S
from analytics.cube import Selection
from analytics.i18n import LANGUAGES
from analytics.rates import DSR_METHODS
from analytics.tables import PUBLIC_K

# The annual report's sections in print order (the title page always comes first).
SECTIONS = ("summary", "incidence_tables", "top_sites", "mortality", "trends", "prevalence", "regions",
            "quality", "methods")
FORMATS = ("pdf", "docx")
SCHEMES = {"ci5": S.SITE_CI5, "globocan": S.SITE_GLOBOCAN}
CONF_LEVELS = (0.90, 0.95, 0.99, 0.998)


@dataclass(frozen=True)
class ReportOptions:
    """``period``: first and last year; ``lang``: en, az or ru; ``sections``: which of
    :data:`SECTIONS`; ``format``: pdf or docx; ``public``: the dashboard's disclosure control in
    every table and figure (``analytics.disclosure.DisclosureRule`` with threshold ``k``: counts
    perturbed by the cell-key method, published counts below ``k`` withheld); ``scheme``: site list (ci5 or globocan); ``standard``,
    ``method``, ``conf``: the standard population and the confidence intervals of the rates;
    ``figures``: draw the charts (off: the document says where they would be)."""

    period: tuple[int, int]
    lang: str = "en"
    sections: tuple[str, ...] = SECTIONS
    format: str = "pdf"
    public: bool = False
    scheme: str = "ci5"
    standard: str = "world_segi1960"
    method: str = "tiwari"
    conf: float = 0.95
    k: int = PUBLIC_K
    figures: bool = True

    def __post_init__(self) -> None:
        y0, y1 = (int(y) for y in self.period)
        if y0 > y1:
            raise ValueError(f"period: the first year ({y0}) is after the last ({y1})")
        object.__setattr__(self, "period", (y0, y1))
        checks = (("lang", self.lang, LANGUAGES), ("format", self.format, FORMATS),
                  ("scheme", self.scheme, tuple(SCHEMES)), ("method", self.method, DSR_METHODS))
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        bad = [s for s in self.sections if s not in SECTIONS]
        if bad:
            raise ValueError(f"unknown section(s) {', '.join(bad)}; choose from {', '.join(SECTIONS)}")
        object.__setattr__(self, "sections", tuple(s for s in SECTIONS if s in self.sections))
        from analytics import standards

        if self.standard not in standards.names():
            raise ValueError(f"standard {self.standard!r} is not known; use one of {', '.join(standards.ALIASES)}")
        if not 0 < float(self.conf) < 1:
            raise ValueError(f"conf must be a confidence level between 0 and 1, not {self.conf!r}")
        if self.k < 1:
            raise ValueError("k must be at least 1")

    @property
    def y0(self) -> int:
        return self.period[0]

    @property
    def y1(self) -> int:
        return self.period[1]

    @property
    def n_years(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def site_column(self) -> str:
        return SCHEMES[self.scheme]

    def period_label(self) -> str:
        return f"{self.y0}\u2013{self.y1}" if self.y1 > self.y0 else str(self.y0)

    def selection(self, **changes) -> Selection:
        """The whole country, both sexes (and unknown), all ages, all sites, over the period."""
        return Selection(years=self.period).replace(**changes) if changes else Selection(years=self.period)

    def replace(self, **changes) -> "ReportOptions":
        return dataclasses.replace(self, **changes)
