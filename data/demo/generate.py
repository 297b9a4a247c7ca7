"""Generate the synthetic demo registry for Azerbaijan (``data/demo/``).

Everything written here is SYNTHETIC: no record describes a real person. The geography
(Natural Earth admin-1, public domain) and the national population (United Nations, DESA,
Population Division, World Population Prospects 2024, CC BY 3.0 IGO) are real; the district
shares of the population, the risk-factor values, the tumours, deaths and all codes are made
up by the rules below (documented in ``data/demo/README.md``).

Run ``python data/demo/generate.py`` (full set, 2010-2024) or
``python data/demo/generate.py --out DIR --years 2010-2011`` (a subset, used by the tests).
A fixed seed makes every output byte-identical from one run to the next.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SOURCES = REPO / "data" / "sources"
GEOJSON_SOURCE = SOURCES / "azerbaijan_admin1_naturalearth.geojson"
WPP_SOURCE = SOURCES / "azerbaijan_population_unwpp2024.csv"

SEED = 20240611
YEARS = range(2010, 2025)
BURN_IN = range(2005, 2010)          # cohorts that only contribute deaths (diagnosed before the registry)
PROJECTION_YEARS = range(2025, 2051)
CLOSE_DATE = np.datetime64("2025-06-30")
REF_YEAR = 2017                      # the year the target ASRs refer to (middle of the period)
TOP_AGE = 85
AGE_STARTS = np.arange(0, TOP_AGE + 1, 5)
AGE_LABELS = [f"{a}-{a + 4}" for a in AGE_STARTS[:-1]] + [f"{TOP_AGE}+"]
N_AGE = len(AGE_STARTS)
# Segi (1960) world standard, per 100,000 (Doll, Payne & Waterhouse 1966): the GLOBOCAN ASR standard.
SEGI = np.array([12000, 10000, 9000, 9000, 8000, 8000, 6000, 6000, 6000, 6000, 5000, 4000,
                 4000, 3000, 2000, 1000, 500, 500], dtype=float)

# --------------------------------------------------------------------------------------------
# Geography: the 78 Natural Earth units with their Azerbaijani names and fixed labels.
# code: (Azerbaijani name, synthetic population in thousands (about 2020), kind, ISO 3166-2)
# kind: "capital" (Bakı), "city" (municipalities and the urban Abşeron district), "rural".
# The populations are plausible orders of magnitude only; they set each unit's share.
# --------------------------------------------------------------------------------------------
UNITS: dict[str, tuple[str, float, str, str]] = {
    "AZE-1684": ("Qazax", 100, "rural", "AZ-QAZ"),
    "AZE-1676": ("Ağstafa", 90, "rural", "AZ-AGA"),
    "AZE-1687": ("Tovuz", 180, "rural", "AZ-TOV"),
    "AZE-1678": ("Gədəbəy", 100, "rural", "AZ-GAD"),
    "AZE-1677": ("Daşkəsən", 35, "rural", "AZ-DAS"),
    "AZE-1682": ("Kəlbəcər", 95, "rural", "AZ-KAL"),
    "AZE-1735": ("Laçın", 80, "rural", "AZ-LAC"),        # Natural Earth: "Lankaran", AZ-LAN
    "AZE-1736": ("Qubadlı", 40, "rural", "AZ-QBI"),
    "AZE-1740": ("Zəngilan", 45, "rural", "AZ-ZAN"),
    "AZE-2419": ("Şərur", 115, "rural", "AZ-SAR"),
    "AZE-2415": ("Sədərək", 16, "rural", "AZ-SAD"),
    "AZE-5567": ("Kəngərli", 30, "rural", "AZ-KAN"),
    "AZE-2420": ("Babək", 75, "rural", "AZ-BAB"),
    "AZE-2423": ("Şahbuz", 25, "rural", "AZ-SAH"),
    "AZE-2421": ("Culfa", 45, "rural", "AZ-CUL"),
    "AZE-2418": ("Ordubad", 48, "rural", "AZ-ORD"),
    "AZE-1723": ("Balakən", 100, "rural", "AZ-BAL"),
    "AZE-1731": ("Zaqatala", 130, "rural", "AZ-ZAQ"),
    "AZE-1730": ("Xaçmaz", 175, "rural", "AZ-XAC"),
    "AZE-1729": ("Qusar", 100, "rural", "AZ-QUS"),
    "AZE-1725": ("Oğuz", 45, "rural", "AZ-OGU"),
    "AZE-1727": ("Şəki", 120, "rural", "AZ-SAK"),         # Natural Earth: AZ-SA (the city's code)
    "AZE-1726": ("Qax", 60, "rural", "AZ-QAX"),
    "AZE-1724": ("Qəbələ", 110, "rural", "AZ-QAB"),
    "AZE-1686": ("Samux", 60, "rural", "AZ-SMX"),
    "AZE-1704": ("İmişli", 130, "rural", "AZ-IMI"),
    "AZE-1698": ("Biləsuvar", 105, "rural", "AZ-BIL"),
    "AZE-1700": ("Cəlilabad", 225, "rural", "AZ-CAL"),
    "AZE-1720": ("Yardımlı", 65, "rural", "AZ-YAR"),
    "AZE-1709": ("Lerik", 85, "rural", "AZ-LER"),
    "AZE-1699": ("Cəbrayıl", 85, "rural", "AZ-CAB"),
    "AZE-1702": ("Füzuli", 135, "rural", "AZ-FUZ"),
    "AZE-1697": ("Beyləqan", 100, "rural", "AZ-BEY"),
    "AZE-1695": ("Astara", 110, "rural", "AZ-AST"),
    "AZE-1701": ("Şabran", 60, "rural", "AZ-SBN"),       # Natural Earth: "Dəvəçi" (old name)
    "AZE-1712": ("Siyəzən", 42, "rural", "AZ-SIY"),
    "AZE-1719": ("Xızı", 17, "rural", "AZ-XIZ"),
    "AZE-1717": ("Sumqayıt", 450, "city", "AZ-SM"),
    "AZE-1689": ("Bakı", 2300, "capital", "AZ-BA"),
    "AZE-1715": ("Salyan", 135, "rural", "AZ-SAL"),
    "AZE-1710": ("Neftçala", 90, "rural", "AZ-NEF"),
    "AZE-1707": ("Lənkəran", 140, "rural", "AZ-LAN"),    # Natural Earth: AZ-LA (the city's code)
    "AZE-1708": ("Masallı", 220, "rural", "AZ-MAS"),
    "AZE-5562": ("Lənkəran şəhəri", 90, "city", "AZ-LA"),
    "AZE-2422": ("Naxçıvan şəhəri", 95, "city", "AZ-NV"),  # Natural Earth: AZ-NX (the republic's code)
    "AZE-1737": ("Şuşa", 13, "rural", "AZ-SUS"),
    "AZE-1739": ("Xocalı", 28, "rural", "AZ-XCI"),
    "AZE-5565": ("Şuşa şəhəri", 20, "city", "AZ-SS"),     # Natural Earth: AZ-X01~; AZ-SS was withdrawn by ISO
    "AZE-1691": ("Ağdam", 205, "rural", "AZ-AGM"),
    "AZE-1738": ("Tərtər", 105, "rural", "AZ-TAR"),
    "AZE-1681": ("Goranboy", 105, "rural", "AZ-GOR"),
    "AZE-1734": ("Xocavənd", 45, "rural", "AZ-XVD"),
    "AZE-1694": ("Hacıqabul", 75, "rural", "AZ-HAC"),
    "AZE-1690": ("Abşeron", 210, "city", "AZ-ABS"),
    "AZE-1680": ("Göygöl", 65, "rural", "AZ-GYG"),       # Natural Earth: "Xanlar" (old name)
    "AZE-1706": ("Kürdəmir", 115, "rural", "AZ-KUR"),
    "AZE-1721": ("Zərdab", 60, "rural", "AZ-ZAR"),
    "AZE-1714": ("Sabirabad", 170, "rural", "AZ-SAB"),
    "AZE-5563": ("Şirvan", 88, "city", "AZ-SR"),
    "AZE-1713": ("Saatlı", 110, "rural", "AZ-SAT"),
    "AZE-1696": ("Bərdə", 160, "rural", "AZ-BAR"),
    "AZE-1685": ("Şəmkir", 215, "rural", "AZ-SKR"),
    "AZE-1693": ("Ağsu", 80, "rural", "AZ-AGU"),
    "AZE-1716": ("Şamaxı", 105, "rural", "AZ-SMI"),
    "AZE-1728": ("Quba", 165, "rural", "AZ-QBA"),
    "AZE-1718": ("Ucar", 90, "rural", "AZ-UCA"),
    "AZE-1711": ("Qobustan", 50, "rural", "AZ-QOB"),
    "AZE-1705": ("İsmayıllı", 90, "rural", "AZ-ISM"),
    "AZE-1688": ("Yevlax", 65, "rural", "AZ-YEV"),
    "AZE-1679": ("Gəncə", 335, "city", "AZ-GA"),
    "AZE-1683": ("Mingəçevir", 107, "city", "AZ-MI"),
    "AZE-1703": ("Göyçay", 125, "rural", "AZ-GOY"),
    "AZE-1692": ("Ağdaş", 110, "rural", "AZ-AGS"),
    "AZE-1722": ("Ağcabədi", 135, "rural", "AZ-AGC"),
    "AZE-4838": ("Xankəndi", 55, "city", "AZ-XA"),        # Natural Earth: "Stepanakert", a district
    "AZE-5566": ("Yevlax şəhəri", 65, "city", "AZ-YE"),   # Natural Earth: AZ-YEV (the district's code)
    "AZE-5561": ("Naftalan", 10, "city", "AZ-NA"),
    "AZE-5564": ("Şəki şəhəri", 70, "city", "AZ-SA"),
}

# The 10 economic regions before the 2021 reform (Natural Earth's ``region`` field).
ECONOMIC_REGIONS: dict[str, tuple[str, str]] = {
    "Absheron Economic Region": ("ABS", "Abşeron iqtisadi rayonu"),
    "Ganja-Gazakh Economic Region": ("GQZ", "Gəncə-Qazax iqtisadi rayonu"),
    "Shaki-Zaqatala Economic Region": ("SZQ", "Şəki-Zaqatala iqtisadi rayonu"),
    "Lankaran Economic Region": ("LNK", "Lənkəran iqtisadi rayonu"),
    "Guba-Khachmaz Economic Region": ("QXM", "Quba-Xaçmaz iqtisadi rayonu"),
    "Aran Economic Region": ("ARN", "Aran iqtisadi rayonu"),
    "Yukhari Garabakh Economic Region": ("YQR", "Yuxarı Qarabağ iqtisadi rayonu"),
    "Kalbajar-Lachin Economic Region": ("KLC", "Kəlbəcər-Laçın iqtisadi rayonu"),
    "Daghlig Shirvan Economic Region": ("DSR", "Dağlıq Şirvan iqtisadi rayonu"),
    "Naxçıvan Autonomous Republic": ("NAX", "Naxçıvan Muxtar Respublikası"),
}

# Relative population growth per year by kind (urbanisation), and the age profile of each kind
# (log multipliers for 0-14, 15-34, 35-59, 60+). Both are synthetic.
GROWTH = {"capital": 0.008, "city": 0.003, "rural": -0.002}
AGE_PROFILE = {"capital": (-0.25, 0.08, 0.05, 0.20), "city": (-0.12, 0.04, 0.03, 0.08),
               "rural": (0.10, -0.04, -0.02, -0.10)}


# --------------------------------------------------------------------------------------------
# Cancer components. One row per (site) component with
#   asr: world-standardised (Segi) incidence per 100,000 in REF_YEAR for (men, women)
#   age: list of (weight, k, theta) gamma-shaped age curves  rate(a) ~ a^k exp(-a/theta)
#   trend: % change per year, either a number, a (men, women) pair, or
#          ("jp", join_year, % before, % after) for a joinpoint (same for both sexes)
#   beta: log relative risk per standard deviation of a district risk factor
#   variants: (weight, {topography: p}, {morphology: p})
#   insitu: (share, {morphology: p}) with behaviour 2; bl1: share with behaviour 1 (bladder)
#   dco / clin: share death certificate only / clinical basis
#   cure, median: mixture cure model of relative survival: a cured fraction and an
#                 exponential death time of the uncured with this median (years)
# The ASRs follow the shape of GLOBOCAN 2022's picture for Azerbaijan (men: lung first, then
# stomach, prostate, colorectum, liver, bladder; women: breast by far, then cervix,
# colorectum, thyroid, corpus uteri, ovary, stomach); values are rounded and synthetic.
# --------------------------------------------------------------------------------------------
def _c(name, asr, age, trend, beta, variants, *, insitu=None, bl1=0.0, dco=0.03, clin=0.06,
       cure=0.3, median=1.0, min_age=15, max_age=None):
    # min_age: the adult carcinomas are not generated in children (their codes would be implausible)
    return dict(name=name, asr=asr, age=age, trend=trend, beta=beta, variants=variants,
                insitu=insitu, bl1=bl1, dco=dco, clin=clin, cure=cure, median=median,
                min_age=min_age, max_age=max_age)


ADULT = [(1.0, 7, 9.5)]
# One factor on every component: brings the yearly totals to 12,500-17,000 with WPP's ageing population.
ASR_SCALE = 0.95
COMPONENTS = [
    _c("lip_oral_pharynx", (3.0, 1.2), [(1.0, 6, 10.5)], 0.0, {"smoking": 0.15, "alcohol": 0.10},
       [(1.0, {"C019": .15, "C029": .20, "C069": .15, "C049": .10, "C109": .10, "C119": .15,
               "C139": .15}, {"8070": .85, "8071": .05, "8010": .05, "8083": .05})],
       cure=0.40, median=1.2),
    _c("oesophagus", (5.0, 2.5), [(1.0, 7, 9.5)], -1.5, {"smoking": 0.12, "alcohol": 0.12},
       [(1.0, {"C153": .15, "C154": .30, "C155": .30, "C159": .25}, {"8070": .75, "8140": .15, "8010": .10})],
       dco=0.05, clin=0.10, cure=0.12, median=0.7),
    _c("stomach", (14.0, 6.5), ADULT, -3.0, {"h_pylori": 0.20, "smoking": 0.05},
       [(1.0, {"C160": .15, "C161": .05, "C162": .15, "C163": .15, "C165": .05, "C166": .05, "C169": .40},
         {"8140": .50, "8144": .10, "8145": .08, "8490": .15, "8010": .10, "8211": .04, "8936": .03})],
       dco=0.05, clin=0.06, cure=0.25, median=0.8),
    _c("colorectum", (12.0, 9.0), ADULT, 1.0, {"obesity": 0.08, "urban": 0.08},
       [(1.0, {"C180": .07, "C182": .05, "C184": .05, "C186": .03, "C187": .20, "C189": .15, "C199": .10,
               "C209": .35}, {"8140": .80, "8480": .08, "8263": .04, "8010": .05, "8490": .03})],
       insitu=(0.02, {"8140": .7, "8263": .3}), dco=0.03, clin=0.04, cure=0.50, median=1.5),
    _c("liver", (8.0, 4.0), [(1.0, 7, 9.0)], 0.0, {"hepatitis_b": 0.25, "hepatitis_c": 0.25, "alcohol": 0.10},
       [(0.82, {"C220": 1.0}, {"8170": .85, "8000": .05, "8010": .10}),
        (0.18, {"C221": 1.0}, {"8160": .90, "8140": .10})],
       dco=0.09, clin=0.20, cure=0.10, median=0.5),
    _c("gallbladder", (1.2, 2.0), ADULT, 0.0, {"obesity": 0.05},
       [(1.0, {"C239": .70, "C240": .20, "C241": .10}, {"8140": .80, "8010": .20})],
       dco=0.06, clin=0.12, cure=0.10, median=0.6),
    _c("pancreas", (5.0, 3.2), ADULT, 0.0, {"smoking": 0.08, "obesity": 0.05},
       [(1.0, {"C250": .50, "C251": .10, "C252": .10, "C259": .30},
         {"8500": .65, "8140": .20, "8010": .10, "8240": .05})],
       dco=0.09, clin=0.20, cure=0.08, median=0.45),
    _c("larynx", (4.5, 0.3), ADULT, -1.0, {"smoking": 0.25, "alcohol": 0.05},
       [(1.0, {"C320": .55, "C321": .30, "C329": .15}, {"8070": .92, "8071": .05, "8010": .03})],
       cure=0.50, median=1.5),
    _c("lung", (30.0, 5.5), [(1.0, 8, 8.5)], (-2.0, 0.5), {"smoking": 0.30, "pm25": 0.08},
       [(1.0, {"C340": .05, "C341": .40, "C342": .05, "C343": .20, "C348": .05, "C349": .25},
         {"8070": .35, "8140": .30, "8041": .12, "8046": .08, "8010": .10, "8012": .05})],
       dco=0.07, clin=0.12, cure=0.12, median=0.6),
    _c("bone", (0.8, 0.6), [(0.6, 2, 8.0), (0.4, 6, 9.0)], 0.0, {},
       [(1.0, {"C400": .20, "C402": .40, "C412": .10, "C414": .20, "C419": .10},
         {"9180": .50, "9260": .20, "9220": .30})], clin=0.05, cure=0.55, median=1.5, min_age=0),
    _c("melanoma", (0.8, 0.8), [(1.0, 5, 11.0)], 2.0, {"urban": 0.05},
       [(1.0, {"C443": .20, "C445": .35, "C446": .15, "C447": .20, "C444": .10},
         {"8720": .70, "8721": .15, "8743": .15})],
       insitu=(0.06, {"8720": .8, "8743": .2}), dco=0.01, clin=0.01, cure=0.75, median=2.0),
    _c("skin_other", (3.0, 2.4), [(1.0, 8, 9.0)], 1.0, {"urban": 0.10},
       [(1.0, {"C443": .45, "C442": .10, "C441": .10, "C444": .15, "C445": .10, "C446": .05, "C447": .05},
         {"8090": .65, "8070": .35})], dco=0.0, clin=0.02, cure=0.97, median=5.0),
    _c("soft_tissue", (1.2, 1.0), [(0.2, 2, 6.0), (0.8, 5, 11.0)], 0.0, {},
       [(1.0, {"C490": .15, "C492": .35, "C494": .15, "C495": .15, "C499": .20},
         {"8800": .20, "8850": .25, "8890": .20, "8830": .15, "8810": .20})],
       clin=0.04, cure=0.50, median=1.5, min_age=0),
    _c("breast", (0.5, 45.0), [(1.0, 5, 11.0)], 1.5, {"urban": 0.12, "obesity": 0.06},
       [(1.0, {"C500": .02, "C501": .05, "C502": .10, "C503": .05, "C504": .35, "C505": .05, "C508": .13,
               "C509": .25}, {"8500": .75, "8520": .10, "8522": .05, "8480": .02, "8010": .03, "8530": .02,
                              "8211": .03})],
       insitu=(0.05, {"8500": .85, "8520": .15}), dco=0.01, clin=0.02, cure=0.72, median=3.0),
    _c("cervix", (0.0, 10.0), [(1.0, 5, 10.0)], -2.0, {"urban": -0.05},
       [(1.0, {"C530": .30, "C531": .15, "C539": .55},
         {"8070": .72, "8071": .05, "8072": .05, "8140": .12, "8560": .03, "8010": .03})],
       insitu=(0.08, {"8077": 1.0}), dco=0.01, clin=0.03, cure=0.55, median=1.5),
    _c("corpus_uteri", (0.0, 7.0), [(1.0, 9, 6.8)], 1.5, {"obesity": 0.18},
       [(0.92, {"C541": .85, "C549": .15}, {"8380": .80, "8441": .06, "8950": .04, "8890": .04, "8140": .06}),
        (0.08, {"C559": 1.0}, {"8380": .50, "8890": .30, "8140": .20})],
       dco=0.01, clin=0.02, cure=0.70, median=2.0),
    _c("ovary", (0.0, 6.0), [(1.0, 6, 9.5)], 0.0, {},
       [(1.0, {"C569": 1.0}, {"8441": .45, "8460": .10, "8470": .10, "8380": .10, "8310": .05, "8140": .10,
                              "8010": .10})], dco=0.03, clin=0.08, cure=0.30, median=1.5),
    _c("prostate", (14.0, 0.0), [(1.0, 10, 7.2)], ("jp", 2017, 4.0, 0.0), {"urban": 0.15},
       [(1.0, {"C619": 1.0}, {"8140": .93, "8010": .02, "8041": .02, "8550": .03})],
       dco=0.03, clin=0.08, cure=0.72, median=4.0),
    _c("testis", (0.8, 0.0), [(1.0, 3, 10.0)], 0.0, {},
       [(1.0, {"C629": 1.0}, {"9061": .45, "9070": .15, "9085": .30, "9080": .10})],
       dco=0.0, clin=0.02, cure=0.90, median=2.0),
    _c("kidney", (5.0, 2.5), [(1.0, 7, 9.0)], 1.0, {"obesity": 0.10, "smoking": 0.08},
       [(0.94, {"C649": 1.0}, {"8312": .75, "8260": .10, "8317": .05, "8310": .10}),
        (0.06, {"C659": 1.0}, {"8120": .90, "8130": .10})],
       dco=0.03, clin=0.06, cure=0.60, median=1.5),
    _c("kidney_child", (0.3, 0.3), [(1.0, 1.5, 2.0)], 0.0, {},
       [(1.0, {"C649": 1.0}, {"8960": 1.0})], dco=0.0, clin=0.02, cure=0.88, median=1.0, min_age=0, max_age=15),
    _c("bladder", (8.0, 1.5), [(1.0, 8, 9.0)], -0.5, {"smoking": 0.20},
       [(1.0, {"C670": .05, "C672": .30, "C674": .10, "C675": .05, "C679": .50},
         {"8120": .85, "8130": .10, "8070": .05})],
       insitu=(0.06, {"8120": .6, "8130": .4}), bl1=0.03, dco=0.02, clin=0.04, cure=0.60, median=1.5),
    _c("brain_cns", (3.2, 2.5), [(0.15, 2, 3.0), (0.85, 4, 14.0)], 0.0, {},
       [(1.0, {"C710": .20, "C711": .20, "C712": .15, "C713": .10, "C716": .10, "C719": .25},
         {"9440": .45, "9400": .15, "9380": .10, "9450": .10, "9470": .08, "9401": .05, "9391": .07})],
       dco=0.05, clin=0.15, cure=0.26, median=0.9, min_age=0),
    _c("thyroid", (1.8, 7.0), [(1.0, 3, 15.0)], ("jp", 2015, 0.0, 5.0), {"urban": 0.20},
       [(1.0, {"C739": 1.0}, {"8260": .82, "8340": .05, "8330": .08, "8345": .03, "8020": .02})],
       dco=0.003, clin=0.01, cure=0.93, median=4.0),
    _c("hodgkin", (1.0, 0.8), [(0.6, 6, 4.0), (0.4, 8, 8.0)], 0.0, {},
       [(1.0, {"C770": .40, "C771": .30, "C772": .05, "C773": .15, "C779": .10},
         {"9650": .15, "9652": .30, "9663": .45, "9659": .10})], dco=0.0, clin=0.02, cure=0.80, median=1.5,
       min_age=5),
    _c("nhl", (4.5, 3.2), [(1.0, 5, 12.0)], 1.0, {},
       [(0.70, {"C770": .25, "C772": .15, "C773": .20, "C774": .10, "C778": .10, "C779": .20},
         {"9680": .45, "9690": .12, "9591": .20, "9673": .06, "9702": .07, "9687": .03, "9670": .07}),
        (0.30, {"C169": .35, "C421": .25, "C710": .10, "C189": .10, "C509": .10, "C739": .10},
         {"9680": .60, "9699": .25, "9591": .15})],
       dco=0.02, clin=0.03, cure=0.55, median=1.2, min_age=0),
    _c("myeloma", (1.3, 1.0), [(1.0, 8, 8.5)], 1.0, {},
       [(1.0, {"C421": 1.0}, {"9732": 1.0})], dco=0.03, clin=0.05, cure=0.12, median=2.5),
    _c("leukaemia_child", (1.2, 1.0), [(1.0, 1.5, 3.0)], 0.0, {},
       [(1.0, {"C421": 1.0}, {"9835": .75, "9861": .20, "9800": .05})], dco=0.01, clin=0.01, cure=0.80,
       median=1.0, min_age=0),
    _c("leukaemia_adult", (4.5, 3.2), [(1.0, 6, 11.0)], 0.5, {"pm25": 0.03},
       [(1.0, {"C421": 1.0}, {"9823": .30, "9861": .30, "9863": .15, "9866": .04, "9835": .06, "9800": .10,
                              "9891": .05})], dco=0.03, clin=0.05, cure=0.33, median=1.2, min_age=0),
    _c("other_unspecified", (7.0, 5.0), ADULT, -2.0, {},
       [(0.55, {"C809": 1.0}, {"8000": .25, "8010": .35, "8140": .25, "8070": .15}),
        (0.15, {"C760": .40, "C762": .30, "C763": .30}, {"8000": .40, "8010": .40, "8070": .20}),
        (0.10, {"C480": 1.0}, {"8800": .40, "8850": .30, "8890": .30}),
        (0.10, {"C179": 1.0}, {"8140": .60, "8240": .40}),
        (0.10, {"C119": .50, "C300": .20, "C379": .30}, {"8070": .60, "8010": .40})],
       dco=0.12, clin=0.20, cure=0.08, median=0.5),
]

# ICD-10 for haematological morphologies (ICD-O-3 -> ICD-10 2016, the codes this generator uses).
HAEM_ICD10 = {"9591": "C859", "9650": "C814", "9652": "C812", "9663": "C811", "9659": "C810",
              "9680": "C833", "9690": "C829", "9673": "C831", "9702": "C844", "9687": "C837",
              "9699": "C884", "9670": "C830", "9732": "C900", "9823": "C911", "9835": "C910",
              "9861": "C920", "9863": "C921", "9866": "C924", "9800": "C959", "9891": "C935"}
NON_CANCER_CAUSES = np.array(["I25", "I64", "I21", "I50", "J44", "E11", "K74", "N18", "J18", "I10"])
NON_CANCER_P = np.array([.30, .18, .12, .08, .07, .08, .05, .04, .04, .04])

# Deliberate data errors (kind -> number of records), see README.
ERRORS = {
    "prostate_in_woman": 100,
    "cervix_in_man": 40,
    "incidence_before_birth": 100,
    "future_incidence_date": 80,
    "age_inconsistent_with_dates": 150,
    "missing_sex": 120,
    "invalid_topography": 100,
    "dco_with_specific_morphology": 100,
    "last_contact_before_incidence": 60,
    "unknown_age_999": 150,
    "probable_duplicate": 150,
}
INVALID_TOPOGRAPHIES = np.array(["C999", "C591", "C359", "C789", "C469"])


# ============================================================================================
# helpers
# ============================================================================================
def _rng(stage: int) -> np.random.Generator:
    # one independent stream per stage, so changing one stage leaves the others' draws intact
    return np.random.default_rng([SEED, stage])


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, dd


def _days(date: str | np.datetime64) -> int:
    return int(np.datetime64(date, "D").astype(np.int64))


def _day_of(year: np.ndarray, month: int, day: int) -> np.ndarray:
    """Day numbers of a fixed month/day in each of the given years (vectorised)."""
    m = (np.asarray(year, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    return m.astype("datetime64[D]").astype(np.int64) + (day - 1)


def _str3(a: np.ndarray) -> np.ndarray:
    """First three characters of each string (an ICD-10 category)."""
    return np.asarray(a).astype(str).astype("<U3")


def completed_age(birth: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Completed years between two day numbers (the registry convention for age)."""
    yb, mb, db = _ymd(birth)
    ye, me, de = _ymd(event)
    return ye - yb - ((me < mb) | ((me == mb) & (de < db))).astype(np.int64)


def _choice(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(probs))
    p = np.array(list(probs.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def largest_remainder(x: np.ndarray, totals: np.ndarray, axis: int) -> np.ndarray:
    """Round non-negative x to integers whose sums along ``axis`` equal the integer ``totals``."""
    xm = np.moveaxis(x, axis, -1)
    fl = np.floor(xm)
    short = np.rint(totals - fl.sum(-1)).astype(np.int64)
    order = np.argsort(-(xm - fl), axis=-1, kind="stable")
    ranks = np.argsort(order, axis=-1, kind="stable")
    return np.moveaxis(fl + (ranks < short[..., None]), -1, axis)


# ============================================================================================
# regions
# ============================================================================================
def build_regions() -> "gpd.GeoDataFrame":  # noqa: F821
    import geopandas as gpd
    import shapely

    src = gpd.read_file(GEOJSON_SOURCE)
    if len(src) != 78 or set(src["adm1_code"]) != set(UNITS):
        raise SystemExit(f"{GEOJSON_SOURCE}: expected the 78 known adm1_code values")
    src = src.sort_values("adm1_code", kind="stable").reset_index(drop=True)
    parent = src["region"].map(ECONOMIC_REGIONS)
    geom = src.geometry.orient_polygons(exterior_cw=True)
    geom = gpd.GeoSeries(shapely.set_precision(geom.values, 1e-5), crs=src.crs)
    # set_precision may re-orient rings; enforce clockwise exteriors again after snapping
    geom = geom.orient_polygons(exterior_cw=True)
    out = gpd.GeoDataFrame({
        "region_code": src["adm1_code"].astype(str),
        "region_name": src["adm1_code"].map(lambda c: UNITS[c][0]).astype(str),
        "parent_code": parent.map(lambda p: p[0]).astype(str),
        "parent_name": parent.map(lambda p: p[1]).astype(str),
        "parent_name_en": src["region"].astype(str),
        "iso_3166_2": src["adm1_code"].map(lambda c: UNITS[c][3]).astype(str),
        "unit_type": src["adm1_code"].map(lambda c: "city" if UNITS[c][2] in ("city", "capital")
                                          and c != "AZE-1690" else "district").astype(str),
        "name_naturalearth": src["name"].astype(str),
    }, geometry=geom.values, crs="EPSG:4326")
    return out


def write_geojson(gdf, path: Path) -> None:
    # Written by hand (not GDAL) so the bytes are stable and coordinates stay at 5 decimals.
    feats = []
    for rec, g in zip(gdf.drop(columns="geometry").to_dict("records"), gdf.geometry):
        gj = json.loads(json.dumps(g.__geo_interface__))
        feats.append({"type": "Feature", "properties": rec, "geometry": _round_coords(gj)})
    fc = {"type": "FeatureCollection",
          "name": "azerbaijan_admin1_demo",
          "description": "Azerbaijan admin-1 units (Natural Earth, public domain) with corrected labels; "
                         "exterior rings clockwise; SYNTHETIC demo registry geography",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
          "features": feats}
    path.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def _round_coords(geom: dict) -> dict:
    def rnd(c):
        if isinstance(c[0], (int, float)):
            return [round(float(v), 5) for v in c]
        return [rnd(x) for x in c]
    geom["coordinates"] = rnd(geom["coordinates"])
    return geom


# ============================================================================================
# population
# ============================================================================================
def read_wpp() -> pd.DataFrame:
    """UN WPP 2024 by 5-year step, sex and 5-year age group, ages 85+ collapsed."""
    w = pd.read_csv(WPP_SOURCE)
    w["sex"] = w["Sex"].map({"Male": 1, "Female": 2})
    w["age_start"] = np.minimum(w["AgeGrpStart"], TOP_AGE)
    return w.groupby(["Year", "sex", "age_start"], as_index=False)["Value"].sum()


def national_population(years: range | list[int]) -> np.ndarray:
    """Array [year, sex, age] of persons: WPP at its 5-year points, linear in between, to the unit."""
    w = read_wpp()
    cube = w.pivot_table(index="Year", columns=["sex", "age_start"], values="Value", aggfunc="sum")
    out = np.empty((len(years), 2, N_AGE))
    for i, y in enumerate(years):
        y0 = 5 * (y // 5)
        f = (y - y0) / 5
        v0 = cube.loc[y0].to_numpy(float)
        v = v0 if f == 0 else (1 - f) * v0 + f * cube.loc[y0 + 5].to_numpy(float)
        out[i] = np.rint(v).reshape(2, N_AGE)
    return out


def district_population(years: range | list[int], codes: list[str]) -> np.ndarray:
    """Array [year, district, sex, age] of persons summing exactly to the national figures.

    Rule: seed = synthetic district size x kind-specific age profile; raked (iterative
    proportional fitting) to the district totals (shares growing with urbanisation) and to the
    national age-sex counts; then rounded by largest remainder within each year, sex and age.
    """
    nat = national_population(years)                      # Y,S,A
    yrs = np.asarray(list(years), dtype=float)
    base = np.array([UNITS[c][1] for c in codes])
    kind = [UNITS[c][2] for c in codes]
    growth = np.array([GROWTH[k] for k in kind])
    share = base[None, :] * np.exp(growth[None, :] * (yrs[:, None] - 2020))
    share /= share.sum(1, keepdims=True)                  # Y,D
    band = np.digitize(AGE_STARTS, [15, 35, 60])          # 0..3
    prof = np.exp(np.array([np.array(AGE_PROFILE[k])[band] for k in kind]))  # D,A
    seed = share[:, :, None, None] * prof[None, :, None, :] * np.ones((1, 1, 2, 1))  # Y,D,S,A
    row_target = share[:, :, None] * nat.sum(2)[:, None, :]                          # Y,D,S
    col_target = nat                                                                  # Y,S,A
    x = seed * (col_target.sum(2)[:, None, :, None] / seed.sum((1, 3))[:, None, :, None])
    for _ in range(50):
        x *= (row_target / x.sum(3))[..., None]
        x *= (col_target / x.sum(1))[:, None]
    return largest_remainder(x, col_target, axis=1)


def population_frame(pop: np.ndarray, years, codes) -> pd.DataFrame:
    Y, D, S, A = pop.shape
    idx = np.indices(pop.shape).reshape(4, -1)
    return pd.DataFrame({
        "year": pd.array(np.asarray(list(years))[idx[0]], dtype="Int16"),
        "region_code": pd.array(np.asarray(codes)[idx[1]], dtype="str"),
        "sex": pd.array(idx[2] + 1, dtype="Int8"),
        "age_group": pd.array(np.asarray(AGE_LABELS)[idx[3]], dtype="str"),
        "age_start": pd.array(AGE_STARTS[idx[3]], dtype="Int16"),
        "population": pop.reshape(-1).astype(float),
    })


# ============================================================================================
# risk factors
# ============================================================================================
RISK_INDICATORS = [
    # name, unit, national mean, urban effect, lon gradient, lat gradient, noise sd, lo, hi, is_percent
    ("smoking_men", "% of men 15+ who smoke daily", 40.0, 4.0, -1.5, 1.5, 3.0, 25, 55, True),
    ("smoking_women", "% of women 15+ who smoke daily", 2.0, 2.5, 0.3, 0.2, 0.6, 0.3, 8, True),
    ("alcohol", "litres of pure alcohol per adult 15+ per year", 1.6, 0.6, 0.1, 0.35, 0.25, 0.4, 3.5, False),
    ("obesity", "% of adults 18+ with BMI >= 30", 20.0, 4.0, 0.5, -0.5, 2.0, 12, 30, True),
    ("hepatitis_b", "% of adults HBsAg positive", 2.5, -0.3, 0.3, -0.7, 0.5, 0.8, 5.5, True),
    ("hepatitis_c", "% of adults anti-HCV positive", 2.2, 0.8, 0.5, -0.4, 0.5, 0.6, 5.0, True),
    ("h_pylori", "% of adults H. pylori seropositive", 65.0, -6.0, -2.0, 1.0, 4.0, 45, 85, True),
    ("pm25", "µg/m³ annual mean PM2.5", 19.0, 6.0, 1.5, -1.0, 1.5, 10, 35, False),
    ("urban", "% of population living in urban settlements", 0.0, 0.0, 0.0, 0.0, 0.0, 0, 100, True),
]


def build_risk_factors(regions, pop2020: np.ndarray) -> pd.DataFrame:
    """One value per district and indicator (survey year 2020), synthetic but plausible."""
    rng = _rng(3)
    pts = regions.geometry.representative_point()
    lon = (pts.x - pts.x.mean()) / pts.x.std()
    lat = (pts.y - pts.y.mean()) / pts.y.std()
    kinds = np.array([UNITS[c][2] for c in regions["region_code"]])
    urb = np.where(kinds == "capital", 1.0, np.where(kinds == "city", 0.75, 0.0))
    n = len(regions)
    urban_pct = np.where(kinds == "capital", 100.0,
                         np.where(kinds == "city", rng.uniform(88, 99, n), rng.uniform(18, 55, n)))
    # survey sample per district grows with population: sets the width of the synthetic 95% CI
    n_survey = 150 + pop2020 / 2000.0
    rows = []
    for name, unit, mean, u_eff, gx, gy, sd, lo, hi, pct in RISK_INDICATORS:
        if name == "urban":
            v = urban_pct
            lower = upper = np.full(n, np.nan)
        else:
            v = mean + u_eff * urb + gx * lon.to_numpy() + gy * lat.to_numpy() + rng.normal(0, sd, n)
            v = np.clip(v, lo, hi)
            if pct:
                p = v / 100
                se = 100 * np.sqrt(p * (1 - p) / n_survey)
            else:
                se = v * 0.6 / np.sqrt(n_survey)
            lower, upper = np.maximum(v - 1.96 * se, 0), v + 1.96 * se
        for i in range(n):
            rows.append((regions["region_code"].iat[i], name, v[i], unit, lower[i], upper[i]))
    df = pd.DataFrame(rows, columns=["region_code", "indicator", "value", "unit", "lower", "upper"])
    df["value"] = df["value"].round(1)
    df["lower"] = df["lower"].round(1)
    df["upper"] = df["upper"].round(1)
    df["year"] = 2020
    df["source"] = "synthetic (demo)"
    return df[["region_code", "indicator", "value", "unit", "year", "lower", "upper", "source"]]


def relative_risks(rf: pd.DataFrame, codes: list[str], popw: np.ndarray) -> np.ndarray:
    """RR[component, district, sex] = exp(sum beta * z + noise), population-weighted mean 1."""
    rng = _rng(4)
    wide = rf.pivot(index="region_code", columns="indicator", values="value").loc[codes]
    w = popw / popw.sum()
    z = {}
    for col in wide.columns:
        v = wide[col].to_numpy(float)
        m = (w * v).sum()
        z[col] = (v - m) / np.sqrt((w * (v - m) ** 2).sum())
    C, D = len(COMPONENTS), len(codes)
    lrr = np.zeros((C, D, 2))
    for ci, comp in enumerate(COMPONENTS):
        noise = rng.normal(0, 0.08, D)
        for s in (0, 1):
            acc = noise.copy()
            for f, b in comp["beta"].items():
                key = ("smoking_men" if s == 0 else "smoking_women") if f == "smoking" else f
                acc = acc + b * z[key]
            lrr[ci, :, s] = acc
    rr = np.exp(lrr)
    return rr / (w[None, :, None] * rr).sum(1, keepdims=True)


# ============================================================================================
# rates
# ============================================================================================
def base_rates() -> np.ndarray:
    """Age-specific rates per person-year [component, sex, age] giving the target Segi ASR."""
    mid = AGE_STARTS + 2.5
    mid[-1] = 89.0
    w = SEGI / SEGI.sum()
    out = np.zeros((len(COMPONENTS), 2, N_AGE))
    for ci, comp in enumerate(COMPONENTS):
        shape = np.zeros(N_AGE)
        for wt, k, th in comp["age"]:
            g = mid ** k * np.exp(-mid / th)
            shape += wt * g / g.max()
        shape[AGE_STARTS < comp["min_age"]] = 0.0
        if comp["max_age"] is not None:
            shape[AGE_STARTS >= comp["max_age"]] = 0.0
        for s in (0, 1):
            asr = comp["asr"][s]
            out[ci, s] = ASR_SCALE * shape * (asr / 1e5) / (w * shape).sum()
    return out


def trend_factor(years) -> np.ndarray:
    """Multiplier [component, sex, year] relative to REF_YEAR."""
    yrs = np.asarray(list(years), dtype=float)
    out = np.ones((len(COMPONENTS), 2, len(yrs)))
    for ci, comp in enumerate(COMPONENTS):
        t = comp["trend"]
        for s in (0, 1):
            if isinstance(t, tuple) and t and t[0] == "jp":
                _, jy, b1, b2 = t
                lr = np.where(yrs <= jy, np.log1p(b1 / 100) * (yrs - jy), np.log1p(b2 / 100) * (yrs - jy))
                lr = lr - (np.log1p(b1 / 100) * (REF_YEAR - jy) if REF_YEAR <= jy
                           else np.log1p(b2 / 100) * (REF_YEAR - jy))
            else:
                pct = t[s] if isinstance(t, tuple) else t
                lr = np.log1p(pct / 100) * (yrs - REF_YEAR)
            out[ci, s] = np.exp(lr)
    return out


# ============================================================================================
# tumour attributes
# ============================================================================================
def fill_tumours(rng, comp_idx, age, allow_dco=True):
    """Topography, morphology, behaviour, basis and survival draws for records of given components.

    Returns a dict of arrays aligned with ``comp_idx``. ``t_cancer`` is years to cancer death
    (inf when cured), 0 for death-certificate-only records.
    """
    n = len(comp_idx)
    topo = np.empty(n, dtype=object)
    morph = np.empty(n, dtype=object)
    beh = np.full(n, 3, dtype=np.int64)
    basis = np.full(n, 7, dtype=np.int64)
    t_cancer = np.full(n, np.inf)
    for ci, comp in enumerate(COMPONENTS):
        idx = np.flatnonzero(comp_idx == ci)
        if idx.size == 0:
            continue
        m = idx.size
        var_w = np.array([v[0] for v in comp["variants"]])
        vi = rng.choice(len(var_w), size=m, p=var_w / var_w.sum())
        for k, (_, tp, mp) in enumerate(comp["variants"]):
            sub = idx[vi == k]
            topo[sub] = _choice(rng, tp, sub.size)
            morph[sub] = _choice(rng, mp, sub.size)
        u = rng.random(m)
        if comp["insitu"]:
            share, mp = comp["insitu"]
            sub = idx[u < share]
            beh[sub] = 2
            morph[sub] = _choice(rng, mp, sub.size)
        if comp["bl1"]:
            sub = idx[(u >= 0.5) & (u < 0.5 + comp["bl1"])]
            beh[sub] = 1
            morph[sub] = "8130"
        # basis of diagnosis: DCO, clinical (1-4), unknown (9), else microscopic (7/5/6/8)
        ub = rng.random(m)
        dco_p = comp["dco"] if allow_dco else 0.0
        is_dco = (ub < dco_p) & (beh[idx] == 3)
        is_clin = (ub >= dco_p) & (ub < dco_p + comp["clin"]) & (beh[idx] == 3)
        is_unk = (ub >= 0.995)
        haem = comp["name"] in ("leukaemia_child", "leukaemia_adult", "myeloma")
        mv = rng.choice([7, 5, 6, 8], size=m, p=[.55, .40, .04, .01] if haem else [.90, .05, .045, .005])
        clin = rng.choice([1, 2, 3, 4], size=m,
                          p=[.25, .45, .05, .25] if comp["name"] in ("liver", "prostate") else [.35, .55, .08, .02])
        b = np.where(is_dco, 0, np.where(is_clin, clin, np.where(is_unk, 9, mv)))
        basis[idx] = b
        # clinical diagnoses cannot name a specific histology
        nonmv = idx[(b < 5) & (b > 0) | (b == 9)]
        morph[nonmv] = np.where(rng.random(nonmv.size) < 0.8, "8000", morph[nonmv])
        morph[idx[is_dco]] = "8000"
        # survival: mixture cure model, worse with age
        a = age[idx]
        cure = np.clip(comp["cure"] * (1 - 0.006 * (a - 60)), 0.0, 0.99)
        if beh[idx].min() < 3:
            cure = np.where(beh[idx] < 3, 1.0, cure)   # in situ / uncertain: no cancer death
        lam = np.log(2) / comp["median"] * np.exp(0.015 * (a - 60))
        t = rng.exponential(1.0, m) / lam
        cured = rng.random(m) < cure
        tc = np.where(cured, np.inf, t)
        tc[is_dco] = 0.0
        t_cancer[idx] = tc
    return dict(topography=topo.astype(str), morphology=morph.astype(str), behaviour=beh, basis=basis,
                t_cancer=t_cancer)


def icd10_of(topo: np.ndarray, morph: np.ndarray, beh: np.ndarray) -> np.ndarray:
    """ICD-10 (4 characters) for the code combinations this generator produces."""
    topo = np.asarray(topo, dtype=object)
    out = topo.copy()
    haem = pd.Series(morph).map(HAEM_ICD10).to_numpy(dtype=object)
    morph = np.asarray(morph).astype(str)
    mel = np.char.startswith(morph, "872") | (morph == "8743")
    last = np.asarray(topo).astype(str).astype("<U4").view("<U1").reshape(-1, 4)[:, 3]
    out = np.where(mel & (beh == 3), np.char.add("C43", last), out)
    t3 = _str3(topo)
    insitu = beh == 2
    out = np.where(insitu & (t3 == "C50"), np.where(morph == "8500", "D051", "D059"), out)
    out = np.where(insitu & (t3 == "C53"), "D069", out)
    out = np.where(insitu & (t3 == "C18"), "D010", out)
    out = np.where(insitu & (t3 == "C19"), "D011", out)
    out = np.where(insitu & (t3 == "C20"), "D012", out)
    out = np.where(insitu & (t3 == "C67"), "D090", out)
    out = np.where(insitu & (t3 == "C44"), "D039", out)
    out = np.where((beh == 1) & (t3 == "C67"), "D414", out)
    out = np.where(pd.notna(haem), haem, out)
    return out.astype(str)


# --------------------------------------------------------------------------------------------
# Life table (data/demo/lifetable.csv): Brass relational logit model on the US 2010 life table,
# e0 and e60 matched to published figures (sources and method in data/PROVENANCE.md).
# --------------------------------------------------------------------------------------------
US_STANDARD = SOURCES / "us_lifetable_2010_survexp.csv"
LIFETABLE_YEARS = range(2000, 2026)
# WHO Global Health Observatory, World Health Statistics 2014: life expectancy at birth and at 60,
# Azerbaijan, by sex (men, women), whole years as published.
WHO_E0 = {2000: (64.0, 69.0), 2012: (69.0, 75.0)}
WHO_E60 = {2000: (16.0, 18.0), 2012: (17.0, 20.0)}
# After 2012: +0.2 year of e0 per year, the average gain of the State Statistical Committee's official
# series 2014-2024 (men 73.3 in 2018 -> 74.5 in 2024, women 78.2 -> 79.2; total 74.2 in 2014 -> 75.8 in 2018).
E0_GAIN_AFTER_2012 = 0.2


def _brass_lx(std_q: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """l_x, x = 0..101, of the Brass model logit(1 - l_x) = alpha + beta logit_std (logit = 1/2 ln(q/p))."""
    l_std = np.concatenate([[1.0], np.cumprod(1 - std_q)])
    y = 0.5 * np.log((1 - l_std[1:]) / l_std[1:])
    return np.concatenate([[1.0], 1 / (1 + np.exp(2 * (alpha + beta * y)))])


def _qx(std_q: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    lx = _brass_lx(std_q, alpha, beta)
    q = 1 - lx[1:101] / lx[:100]                                   # ages 0..99
    q_top = 1 - (1 - std_q[100]) ** (np.log1p(-q[99]) / np.log1p(-std_q[99]))   # hazard ratio of age 99 kept
    return np.clip(np.concatenate([q, [q_top]]), 1e-7, 0.99)


def life_expectancy_at(q: np.ndarray, age: int) -> float:
    """e_x with a constant hazard within each year of age; the open top age (100+) keeps its hazard."""
    lam = -np.log1p(-q)
    p = np.exp(-lam)
    lx = np.concatenate([[1.0], np.cumprod(p)])[:-1]
    lived = lx * (1 - p) / lam
    total = lived[age:].sum() + lx[-1] * p[-1] / lam[-1]
    return float(total / lx[age])


def _fit(std_q: np.ndarray, e0: float, e60: float | None, beta: float | None = None) -> tuple[float, float]:
    from scipy import optimize

    if e60 is None:
        a = optimize.brentq(lambda a: life_expectancy_at(_qx(std_q, a, beta), 0) - e0, -3, 3, xtol=1e-12)
        return a, beta
    sol = optimize.fsolve(lambda v: [life_expectancy_at(_qx(std_q, v[0], v[1]), 0) - e0,
                                     life_expectancy_at(_qx(std_q, v[0], v[1]), 60) - e60], [0.3, 1.0], xtol=1e-12)
    return float(sol[0]), float(sol[1])


def build_lifetable() -> pd.DataFrame:
    """qx by year 2000-2025, sex and single year of age 0-100 (100 = 100 and over)."""
    std = pd.read_csv(US_STANDARD).sort_values(["sex", "age"])
    rows = []
    for si, sex in enumerate((1, 2)):
        sq = std.loc[std["sex"] == sex, "qx"].to_numpy(float)
        b0 = _fit(sq, WHO_E0[2000][si], WHO_E60[2000][si])[1]
        b1 = _fit(sq, WHO_E0[2012][si], WHO_E60[2012][si])[1]
        for y in LIFETABLE_YEARS:
            f = min(max((y - 2000) / 12, 0.0), 1.0)
            e0 = WHO_E0[2000][si] + f * (WHO_E0[2012][si] - WHO_E0[2000][si]) + E0_GAIN_AFTER_2012 * max(y - 2012, 0)
            beta = b0 + f * (b1 - b0)
            alpha, _ = _fit(sq, e0, None, beta)
            q = _qx(sq, alpha, beta)
            rows.append(pd.DataFrame({"year": y, "sex": sex, "age": np.arange(101), "qx": np.round(q, 8)}))
    return pd.concat(rows, ignore_index=True)


def population_hazard(lifetable: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Hazard per year [sex, year, age] and the table's years."""
    years = np.sort(lifetable["year"].unique())
    lt = lifetable.sort_values(["sex", "year", "age"])
    lam = -np.log1p(-lt["qx"].to_numpy(float)).reshape(2, years.size, 101)
    return lam, years


def other_cause_death(rng, age: np.ndarray, sex: np.ndarray, incid: np.ndarray, hazard) -> np.ndarray:
    """Years to death from other causes: the life table's hazard, followed year by year of follow-up
    as the patient ages and calendar time passes (inverse of the cumulative hazard at an Exp(1) draw)."""
    lam, years = hazard
    target = rng.exponential(1.0, age.size)
    start_year = _ymd(incid)[0] + (incid - _day_of(_ymd(incid)[0], 1, 1)) / 365.25
    t = np.full(age.size, np.inf)
    cum = np.zeros(age.size)
    for k in range(60):                      # one-year steps of follow-up, vectorised over patients
        a = np.minimum(np.floor(age + k), 100).astype(int)
        yi = np.clip(np.floor(start_year + k).astype(int) - years[0], 0, years.size - 1)
        h = lam[sex - 1, yi, a]
        step = np.isinf(t) & (cum + h >= target)
        t[step] = k + (target[step] - cum[step]) / h[step]
        cum += h
        if not np.isinf(t).any():
            break
    return np.where(np.isinf(t), 200.0, t)       # still alive after 60 years of follow-up: far beyond the close


# ============================================================================================
# tumours
# ============================================================================================
def simulate(years, pop, rr, rng_stage=5):
    """Draw Poisson counts per (year, district, sex, age, component) and expand to records."""
    rng = _rng(rng_stage)
    rates = base_rates()                                   # C,S,A
    tf = trend_factor(years)                               # C,S,Y
    # expected[y,d,s,a,c]
    exp_ = (pop[..., None] * np.transpose(rates, (1, 2, 0))[None, None]
            * np.transpose(tf, (2, 1, 0))[:, None, :, None, :]
            * np.transpose(rr, (1, 2, 0))[None, :, :, None, :])
    counts = rng.poisson(exp_)
    flat = np.repeat(np.arange(counts.size), counts.reshape(-1))
    yi, di, si, ai, ci = np.unravel_index(flat, counts.shape)
    n = flat.size
    yrs = np.asarray(list(years))
    year = yrs[yi]
    a0 = AGE_STARTS[ai].astype(float)
    age_exact = np.where(ai == N_AGE - 1, TOP_AGE + np.minimum(rng.exponential(4.5, n), 19.5),
                         a0 + rng.random(n) * 5)
    start = _day_of(yrs, 1, 1)[yi]
    ndays = (_day_of(yrs + 1, 1, 1) - _day_of(yrs, 1, 1))[yi]
    incid = start + np.floor(rng.random(n) * ndays).astype(np.int64)
    birth = incid - np.maximum(np.round(age_exact * 365.2425).astype(np.int64), 1)
    return dict(year=year, district=di, sex=si + 1, comp=ci, incid=incid, birth=birth,
                age_exact=age_exact), rng


def build_tumours(years, codes, pop, rr, burn_pop):
    rng_main = _rng(6)
    recs, rng = simulate(years, pop, rr, rng_stage=5)
    burn, rng_b = simulate(BURN_IN, burn_pop, rr, rng_stage=7)
    close = _days(CLOSE_DATE)

    hazard = population_hazard(build_lifetable())

    def attach(r, rng_):
        age = (r["incid"] - r["birth"]) / 365.2425
        f = fill_tumours(rng_, r["comp"], age)
        r.update(f)
        r["t_other"] = other_cause_death(rng_, age, r["sex"], r["incid"], hazard)
        t = np.minimum(r["t_cancer"], r["t_other"])
        r["death"] = np.where(np.isfinite(t), r["incid"] + np.round(t * 365.25).astype(np.int64),
                              np.iinfo(np.int64).max // 4)
        r["death_by_cancer"] = r["t_cancer"] <= r["t_other"]
        r["icd10"] = icd10_of(r["topography"], r["morphology"], r["behaviour"])
        return r

    recs = attach(recs, rng)
    burn = attach(burn, rng_b)

    # ---- multiple primaries: about 3% of patients get a second, later primary ---------------
    n1 = len(recs["year"])
    end_window = min(close, _days(f"{max(years)}-12-31"))
    lo = recs["incid"] + 180
    hi = np.minimum(recs["death"], end_window)
    eligible = (recs["basis"] != 0) & (hi > lo + 30)
    # a constant hazard of a second primary (0.4% per person-year at risk), so later years do not
    # pile up second tumours
    p2 = 1 - np.exp(-0.004 * np.maximum(hi - lo, 0) / 365.25)
    pick = np.flatnonzero(eligible & (rng_main.random(n1) < p2))
    m = pick.size
    incid2 = lo[pick] + np.floor(rng_main.random(m) * (hi[pick] - lo[pick])).astype(np.int64)
    sex2 = recs["sex"][pick]
    age2 = (incid2 - recs["birth"][pick]) / 365.2425
    # site of the second primary in proportion to the age- and sex-specific rates
    rates = base_rates()
    ag = np.minimum((age2 // 5).astype(int), N_AGE - 1)
    p = rates[:, sex2 - 1, ag].T                            # m,C
    cum = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
    comp2 = np.minimum((cum < rng_main.random(m)[:, None]).sum(1), len(COMPONENTS) - 1)
    sec = dict(year=_ymd(incid2)[0], district=recs["district"][pick], sex=sex2, comp=comp2, incid=incid2,
               birth=recs["birth"][pick], age_exact=age2)
    f = fill_tumours(rng_main, comp2, age2, allow_dco=False)
    sec.update(f)
    # the patient's other-cause death is shared: keep the first tumour's
    sec["t_other"] = (recs["incid"][pick] + recs["t_other"][pick] * 365.25 - incid2) / 365.25
    t = np.minimum(sec["t_cancer"], sec["t_other"])
    sec["death"] = np.where(np.isfinite(t), incid2 + np.round(t * 365.25).astype(np.int64),
                            np.iinfo(np.int64).max // 4)
    sec["death_by_cancer"] = sec["t_cancer"] <= sec["t_other"]
    sec["icd10"] = icd10_of(sec["topography"], sec["morphology"], sec["behaviour"])
    # patient death = the earlier of the two; its cause follows
    first_dies_first = recs["death"][pick] <= sec["death"]
    pdeath = np.minimum(recs["death"][pick], sec["death"])
    cause_code = np.where(first_dies_first, recs["icd10"][pick], sec["icd10"])
    by_cancer = np.where(first_dies_first, recs["death_by_cancer"][pick], sec["death_by_cancer"])

    # assemble patients: records 0..n1-1 (first tumours) + m second tumours
    R = {k: np.concatenate([recs[k], sec[k]]) for k in
         ("year", "district", "sex", "comp", "incid", "birth", "topography", "morphology", "behaviour",
          "basis", "icd10")}
    pat = np.concatenate([np.arange(n1), pick])
    seq = np.concatenate([np.ones(n1, int), np.full(m, 2)])
    death = recs["death"].copy()
    death[pick] = pdeath
    cancer_death = recs["death_by_cancer"].copy()
    cancer_death[pick] = by_cancer
    cause_icd = np.where(recs["death_by_cancer"], recs["icd10"], "")
    cause_icd[pick] = np.where(by_cancer, cause_code, "")

    # ---- follow-up: passive (death linkage) to CLOSE_DATE, 6% of patients lost earlier --------
    lost = rng_main.random(n1) < 0.06
    lost_day = recs["incid"] + np.floor(rng_main.random(n1) * (close - recs["incid"])).astype(np.int64)
    last_incid = recs["incid"].copy()
    last_incid[pick] = incid2
    lost_day = np.maximum(lost_day, last_incid)
    observed_death = (death <= close) & (~lost | (death <= lost_day))
    vital = np.where(observed_death, 2, 1)
    last = np.where(observed_death, death, np.where(lost, lost_day, close))
    vital = np.where(~observed_death & lost & (rng_main.random(n1) < 0.15), 9, vital)
    other_cause = NON_CANCER_CAUSES[rng_main.choice(len(NON_CANCER_CAUSES), n1, p=NON_CANCER_P)]
    cod = np.where(observed_death, np.where(cancer_death, _str3(cause_icd), other_cause),
                   "")
    R["vital"] = vital[pat]
    R["last"] = last[pat]
    R["cod"] = cod[pat]
    R["patient"] = pat
    R["seq"] = seq

    # ---- deaths (vital registration): every cancer death 2010.. of these and burn-in patients ----
    d_all = np.concatenate([death, burn["death"]])
    c_all = np.concatenate([cancer_death, burn["death_by_cancer"]])
    code_all = np.concatenate([_str3(cause_icd), _str3(burn["icd10"])])
    sex_all = np.concatenate([recs["sex"], burn["sex"]])
    dist_all = np.concatenate([recs["district"], burn["district"]])
    birth_all = np.concatenate([recs["birth"], burn["birth"]])
    ymin, ymax = _days(f"{min(years)}-01-01"), _days(f"{max(years)}-12-31")
    keep = c_all & (d_all >= ymin) & (d_all <= ymax)
    dyear = _ymd(d_all[keep])[0]
    dage = completed_age(birth_all[keep], d_all[keep])
    dgrp = np.minimum(dage // 5, N_AGE - 1)
    deaths = pd.DataFrame({"year": dyear, "sex": sex_all[keep], "age_group": np.asarray(AGE_LABELS)[dgrp],
                           "region_code": np.asarray(codes)[dist_all[keep]], "icd10": code_all[keep]})
    deaths = (deaths.groupby(["year", "sex", "age_group", "region_code", "icd10"], as_index=False)
              .size().rename(columns={"size": "count"}))
    return R, deaths


def finalise(R, codes, years):
    """Patient/tumour ids, unknown date parts, completed ages, deliberate errors -> frames."""
    rng = _rng(8)
    n = len(R["year"])
    # patient ids in order of first registration: yy + 6-digit sequence (CanReg REGNO, 8 chars)
    pat = R["patient"]
    n_pat = pat.max() + 1
    pat_first = np.full(n_pat, np.iinfo(np.int64).max)
    np.minimum.at(pat_first, pat, R["incid"])
    order_pat = np.lexsort((np.arange(n_pat), pat_first))
    rank = np.empty(n_pat, np.int64)
    rank[order_pat] = np.arange(n_pat)
    pyear = _ymd(pat_first)[0]
    regno = np.char.add(np.char.zfill((pyear % 100).astype(str), 2), np.char.zfill((rank + 1).astype(str), 6))
    patient_id = regno[pat]
    tumour_id = np.char.add(patient_id, np.char.zfill(R["seq"].astype(str), 2))

    incid, birth, last = R["incid"].copy(), R["birth"].copy(), R["last"].copy()
    # unknown date parts (not errors): CanReg writes 99; the canonical date takes the 15th / 1 July
    single = R["seq"] == 1
    single &= np.bincount(pat, minlength=n_pat)[pat] == 1
    u = rng.random(n)
    y, mth, d = _ymd(birth)
    bunk = np.where(u < 0.005, "M", np.where(u < 0.02, "D", ""))
    b_new = np.where(bunk == "M", _day_of(y, 7, 1), birth - (d - 15))
    ok = (b_new < incid) & single & (bunk != "")
    birth = np.where(ok, b_new, birth)
    bunk = np.where(ok, bunk, "")
    y, mth, d = _ymd(incid)
    iunk = (rng.random(n) < 0.006) & single & (R["basis"] != 0)
    i_new = incid - (d - 15)
    ok = iunk & (i_new <= last) & (i_new > birth)
    incid = np.where(ok, i_new, incid)
    iunk = ok
    age = completed_age(birth, incid)

    df = pd.DataFrame({
        "tumour_id": tumour_id, "patient_id": patient_id, "sex": R["sex"].astype(np.int64),
        "birth_days": birth, "incid_days": incid, "age": age,
        "topography": R["topography"], "morphology": R["morphology"], "behaviour": R["behaviour"],
        "basis": R["basis"], "region_code": np.asarray(codes)[R["district"]], "vital_status": R["vital"],
        "last_days": last, "cause_of_death": R["cod"], "icd10": R["icd10"], "seq": R["seq"],
        "birth_unknown": bunk, "incid_unknown_day": iunk, "comp": R["comp"],
    })
    df["sex"] = df["sex"].astype("Int64")
    df["age"] = df["age"].astype("Int64")
    df["error"] = ""

    # ---- deliberate errors on distinct single-tumour records --------------------------------
    comp_name = np.array([c["name"] for c in COMPONENTS])[df["comp"]]
    base_ok = single & (df["basis"].to_numpy() != 0) & ~iunk & (bunk == "")
    taken = np.zeros(n, bool)

    def pick(mask, k):
        cand = np.flatnonzero(mask & ~taken)
        k = min(k, cand.size)
        sel = np.sort(rng.choice(cand, size=k, replace=False)) if k else cand[:0]
        taken[sel] = True
        return sel

    scale = len(years) / 15
    cnt = {k: max(1, int(round(v * scale))) for k, v in ERRORS.items()}
    s = pick(base_ok & (comp_name == "prostate"), cnt["prostate_in_woman"])
    df.loc[s, "sex"] = 2
    df.loc[s, "error"] = "prostate_in_woman"
    s = pick(base_ok & (comp_name == "cervix"), cnt["cervix_in_man"])
    df.loc[s, "sex"] = 1
    df.loc[s, "error"] = "cervix_in_man"
    s = pick(base_ok, cnt["incidence_before_birth"])
    df.loc[s, "birth_days"] = df.loc[s, "incid_days"].to_numpy() + rng.integers(30, 3000, s.size)
    df.loc[s, "error"] = "incidence_before_birth"
    yy = _ymd(df["incid_days"].to_numpy())[0]
    s = pick(base_ok & (yy >= 2013) & (yy <= 2019), cnt["future_incidence_date"])
    if s.size:
        y0, m0, d0 = _ymd(df.loc[s, "incid_days"].to_numpy())
        swapped = 2000 + (y0 % 10) * 10 + (y0 // 10) % 10     # 2016 -> 2061: a typing error
        d0 = np.minimum(d0, 28)
        month_start = ((swapped - 1970) * 12 + (m0 - 1)).astype("datetime64[M]").astype("datetime64[D]")
        df.loc[s, "incid_days"] = month_start.astype(np.int64) + d0 - 1
    df.loc[s, "error"] = "future_incidence_date"
    s = pick(base_ok & (df["age"].to_numpy() >= 25), cnt["age_inconsistent_with_dates"])
    shift = rng.integers(2, 16, s.size) * rng.choice([-1, 1], s.size)
    df.loc[s, "age"] = np.maximum(df.loc[s, "age"].to_numpy(np.int64) + shift, 0)
    df.loc[s, "error"] = "age_inconsistent_with_dates"
    s = pick(base_ok & ~np.isin(comp_name, ["prostate", "cervix", "breast", "corpus_uteri", "ovary",
                                            "testis"]), cnt["missing_sex"])
    df.loc[s, "sex"] = pd.NA
    df.loc[s, "error"] = "missing_sex"
    s = pick(base_ok, cnt["invalid_topography"])
    df.loc[s, "topography"] = INVALID_TOPOGRAPHIES[rng.integers(0, INVALID_TOPOGRAPHIES.size, s.size)]
    df.loc[s, "error"] = "invalid_topography"
    dco_ok = single & (df["basis"].to_numpy() == 0) & (comp_name != "other_unspecified")
    s = pick(dco_ok, cnt["dco_with_specific_morphology"])
    spec = {c["name"]: list(c["variants"][0][2]) for c in COMPONENTS}
    df.loc[s, "morphology"] = [spec[c][0] for c in comp_name[s]]
    df.loc[s, "error"] = "dco_with_specific_morphology"
    s = pick(base_ok & (df["vital_status"].to_numpy() == 1), cnt["last_contact_before_incidence"])
    df.loc[s, "last_days"] = df.loc[s, "incid_days"].to_numpy() - rng.integers(1, 400, s.size)
    df.loc[s, "error"] = "last_contact_before_incidence"
    s = pick(base_ok, cnt["unknown_age_999"])
    df.loc[s, "age"] = pd.NA
    df.loc[s, "birth_days"] = np.iinfo(np.int64).min
    df.loc[s, "error"] = "unknown_age_999"
    # probable duplicates: the same tumour registered twice a few weeks apart
    s = pick(base_ok, cnt["probable_duplicate"])
    dup = df.loc[s].copy()
    year_end = _day_of(_ymd(dup["incid_days"].to_numpy())[0], 12, 31)
    dup["incid_days"] = np.minimum.reduce([dup["incid_days"].to_numpy() + rng.integers(0, 60, s.size),
                                           dup["last_days"].to_numpy(), year_end])
    dup["age"] = completed_age(dup["birth_days"].to_numpy(), dup["incid_days"].to_numpy())
    dup["tumour_id"] = dup["patient_id"] + "02"
    dup["seq"] = 2
    dup["error"] = "probable_duplicate"
    df = pd.concat([df, dup], ignore_index=True)
    df = df.sort_values("tumour_id", kind="stable").reset_index(drop=True)
    df["n_tumours"] = df.groupby("patient_id")["tumour_id"].transform("size")
    return df


def _to_dt(days: pd.Series) -> pd.Series:
    v = days.to_numpy(np.int64)
    bad = v == np.iinfo(np.int64).min
    out = v.astype("datetime64[D]").astype("datetime64[ns]")
    out[bad] = np.datetime64("NaT")
    return pd.Series(out, index=days.index)


def tumour_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The canonical tumour table (schema.TUMOUR_COLUMNS, no derived columns)."""
    cod = df["cause_of_death"].where(df["cause_of_death"] != "", None)
    return pd.DataFrame({
        "tumour_id": pd.array(df["tumour_id"], dtype="str"),
        "patient_id": pd.array(df["patient_id"], dtype="str"),
        "sex": df["sex"].astype("Int8"),
        "birth_date": _to_dt(df["birth_days"]),
        "incidence_date": _to_dt(df["incid_days"]),
        "age": df["age"].astype("Int16"),
        "topography": pd.array(df["topography"], dtype="str"),
        "morphology": pd.array(df["morphology"], dtype="str"),
        "behaviour": df["behaviour"].astype("Int8"),
        "basis": df["basis"].astype("Int8"),
        "region_code": pd.array(df["region_code"], dtype="str"),
        "vital_status": df["vital_status"].astype("Int8"),
        "last_contact_date": _to_dt(df["last_days"]),
        "cause_of_death": pd.array(cod, dtype="str"),
    })


# ============================================================================================
# CanReg5 export
# ============================================================================================
CANREG_COLUMNS = ["RECS", "CHEC", "AGE", "ADDR", "INCID", "TOP", "MOR", "BEH", "BAS", "I10", "MPCODE",
                  "MPSEQ", "MPTOT", "UPDATE", "ICCC", "OBSOLETEFLAGTUMOURTABLE", "TUMOURID",
                  "PATIENTIDTUMOURTABLE", "PATIENTRECORDIDTUMOURTABLE", "TUMOURUPDATEDBY",
                  "TUMOURUNDUPLICATIONSTATUS", "REGNO", "PERS", "FAMN", "FIRSTN", "MAIDN", "SEX", "BIRTHD",
                  "TRIB", "OCCU", "DLC", "STAT", "MIDN", "OBSOLETEFLAGPATIENTTABLE", "PATIENTRECORDID",
                  "PATIENTUPDATEDBY", "PATIENTUPDATEDATE", "PATIENTRECORDSTATUS", "PATIENTCHECKSTATUS"]
FAKE_SURNAMES = np.array(["Nümunəli", "Sintetikov", "Demoyev", "Uydurmazadə", "Testov", "Saxtalı"])
FAKE_FIRSTNAMES = np.array(["Demo", "Sınaq", "Nümunə", "Test", "Sintetik", "Uydurma"])


def _yyyymmdd(days: np.ndarray) -> np.ndarray:
    v = np.asarray(days, dtype=np.int64)
    bad = v == np.iinfo(np.int64).min
    s = np.datetime_as_string(np.where(bad, 0, v).astype("datetime64[D]"), unit="D")
    s = np.char.replace(s, "-", "")
    return np.where(bad, "", s)


def canreg_frame(df: pd.DataFrame) -> pd.DataFrame:
    rng = _rng(9)
    n = len(df)
    birth = _yyyymmdd(df["birth_days"].to_numpy())
    bu = df["birth_unknown"].to_numpy()
    birth = np.where(bu == "D", np.char.add(np.char.ljust(birth, 8).astype("<U6"), "99"), birth)
    birth = np.where(bu == "M", np.char.add(np.char.ljust(birth, 8).astype("<U4"), "9999"), birth)
    incid = _yyyymmdd(df["incid_days"].to_numpy())
    incid = np.where(df["incid_unknown_day"].to_numpy(bool), np.char.add(incid.astype("<U6"), "99"), incid)
    upd = np.minimum(df["incid_days"].to_numpy() + rng.integers(20, 400, n), _days("2025-07-31"))
    pupd = np.minimum(np.maximum(df["last_days"].to_numpy(), df["incid_days"].to_numpy()) + rng.integers(0, 30, n),
                      _days("2025-07-31"))
    sex = df["sex"]
    age = df["age"]
    topo = df["topography"].to_numpy().astype(str)
    i10 = np.where(df["error"].to_numpy() == "invalid_topography", "", df["icd10"].to_numpy())
    fem = sex.eq(2).fillna(False).to_numpy(bool)
    fam = FAKE_SURNAMES[rng.integers(0, FAKE_SURNAMES.size, n)]
    fam = np.where(fem & np.char.endswith(fam, "ov"), np.char.add(fam, "a"), fam)
    fam = np.where(fem & np.char.endswith(fam, "yev"), np.char.add(fam, "a"), fam)
    regno = df["patient_id"].to_numpy().astype(str)
    return pd.DataFrame({
        "RECS": "1", "CHEC": "1",
        "AGE": np.where(age.isna(), "999", age.astype("string").fillna("999").to_numpy(str)),
        "ADDR": df["region_code"].to_numpy(str),
        "INCID": incid,
        "TOP": np.char.lstrip(topo, "C"),
        "MOR": df["morphology"].to_numpy(str),
        "BEH": df["behaviour"].astype(str).to_numpy(),
        "BAS": df["basis"].astype(str).to_numpy(),
        "I10": i10,
        "MPCODE": "",
        "MPSEQ": df["seq"].astype(str).to_numpy(),
        "MPTOT": df["n_tumours"].astype(str).to_numpy(),
        "UPDATE": _yyyymmdd(upd),
        "ICCC": "", "OBSOLETEFLAGTUMOURTABLE": "0",
        "TUMOURID": df["tumour_id"].to_numpy(str),
        "PATIENTIDTUMOURTABLE": regno,
        "PATIENTRECORDIDTUMOURTABLE": np.char.add(regno, "01"),
        "TUMOURUPDATEDBY": "demo", "TUMOURUNDUPLICATIONSTATUS": "",
        "REGNO": regno,
        "PERS": np.where(df["n_tumours"].to_numpy() > 1, "2", "1"),
        "FAMN": fam,
        "FIRSTN": FAKE_FIRSTNAMES[rng.integers(0, FAKE_FIRSTNAMES.size, n)],
        "MAIDN": "",
        "SEX": sex.astype("string").fillna("").to_numpy(str),
        "BIRTHD": birth,
        "TRIB": "", "OCCU": "99",
        "DLC": _yyyymmdd(df["last_days"].to_numpy()),
        "STAT": df["vital_status"].astype(str).to_numpy(),
        "MIDN": "", "OBSOLETEFLAGPATIENTTABLE": "0",
        "PATIENTRECORDID": np.char.add(regno, "01"),
        "PATIENTUPDATEDBY": "demo",
        "PATIENTUPDATEDATE": _yyyymmdd(pupd),
        "PATIENTRECORDSTATUS": "1", "PATIENTCHECKSTATUS": "1",
    })[CANREG_COLUMNS]


def write_canreg(cr: pd.DataFrame, path: Path) -> None:
    buf = io.StringIO()
    cr.to_csv(buf, sep="\t", index=False, lineterminator="\r\n", quoting=3)  # QUOTE_NONE: no value needs it
    raw = buf.getvalue().encode("utf-8")
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0,
                                               compresslevel=6) as gz:
        gz.write(raw)


# ============================================================================================
# main
# ============================================================================================
PARQUET_NOTE = ("SYNTHETIC demo data generated by data/demo/generate.py: not real patients, not official "
                "statistics. Population: United Nations, DESA, Population Division, World Population "
                "Prospects 2024 (CC BY 3.0 IGO), distributed to districts by a synthetic rule.")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Parquet with the 'synthetic' label in the file's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"description"] = PARQUET_NOTE.encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd")


def _parse_years(text: str | None) -> list[int]:
    if not text:
        return list(YEARS)
    a, _, b = text.partition("-")
    ys = list(range(int(a), int(b or a) + 1))
    if ys[0] < YEARS.start or ys[-1] >= YEARS.stop:
        raise SystemExit(f"--years must lie within {YEARS.start}-{YEARS.stop - 1}")
    return ys


def generate(out_dir: Path = HERE, years: list[int] | None = None, verbose: bool = False) -> dict[str, Path]:
    """Write every demo file into ``out_dir``; returns {name: path}."""
    t0 = time.perf_counter()
    years = list(years or YEARS)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in {
        "regions": "regions.geojson", "population": "population.parquet",
        "projection": "population_projection.parquet", "tumours": "tumours.parquet",
        "deaths": "deaths.parquet", "risk_factors": "risk_factors.csv",
        "canreg5": "canreg5_export.txt.gz", "errors": "deliberate_errors.csv", "lifetable": "lifetable.csv"}.items()}

    regions = build_regions()
    write_geojson(regions, paths["regions"])
    codes = regions["region_code"].tolist()

    pop = district_population(years, codes)
    write_parquet(population_frame(pop, years, codes), paths["population"])
    proj = national_population(PROJECTION_YEARS)[:, None]  # Y,1,S,A
    write_parquet(population_frame(proj, PROJECTION_YEARS, ["AZ"]), paths["projection"])

    pop2020 = district_population([2020], codes)[0].sum((1, 2))
    rf = build_risk_factors(regions, pop2020)
    rf.to_csv(paths["risk_factors"], index=False, lineterminator="\n", float_format="%.1f")
    rr = relative_risks(rf, codes, pop2020)

    build_lifetable().to_csv(paths["lifetable"], index=False, lineterminator="\n", float_format="%.8f")
    burn_pop = district_population(list(BURN_IN), codes)
    R, deaths = build_tumours(years, codes, pop, rr, burn_pop)
    df = finalise(R, codes, years)
    write_parquet(tumour_frame(df), paths["tumours"])
    deaths = deaths.astype({"year": "Int16", "sex": "Int8", "count": "int64"})
    for c in ("age_group", "region_code", "icd10"):
        deaths[c] = deaths[c].astype("str")
    write_parquet(deaths, paths["deaths"])
    write_canreg(canreg_frame(df), paths["canreg5"])
    err = df.loc[df["error"] != "", ["tumour_id", "error"]]
    err.to_csv(paths["errors"], index=False, lineterminator="\n")
    if verbose:
        per_year = df.groupby(_ymd(df["incid_days"].to_numpy())[0]).size()
        print(per_year.to_string(), file=sys.stderr)
        print(f"{len(df)} tumours, {len(err)} deliberate errors, {deaths['count'].sum()} deaths; "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: data/demo)")
    ap.add_argument("--years", help="a range such as 2010-2012 (default: 2010-2024)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    generate(a.out, _parse_years(a.years), verbose=a.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
