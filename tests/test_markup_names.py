"""Issue 11: names read from uploaded files are never rendered as markup. plotly.js renders a few
HTML tags (<a href>, <b>, <br>, <span>) in chart titles, labels and hovers, so a region or
risk-factor name such as '<a href="http://…">Absheron</a>' would be a link on the user's screen;
it is shown as text instead, with look-alike guillemets."""
import io
import json

from analytics import schema as S
from analytics.auxiliary import read_regions, read_risk_factors

HOSTILE = '<a href="http://127.0.0.1:9/x">Absheron</a><b>!</b>'


def _square(x: float) -> list:
    return [[[x, 40.0], [x + 0.1, 40.0], [x + 0.1, 40.1], [x, 40.1], [x, 40.0]]]


def test_region_and_parent_names_carry_no_markup():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"region_code": f"AZE-{i}", "name": HOSTILE if i == 1 else f"D{i}",
                                           "er": "ER1", "er_name": "<br>Aran"},
         "geometry": {"type": "Polygon", "coordinates": _square(47.0 + i)}} for i in (1, 2)]}
    g = read_regions(io.BytesIO(json.dumps(fc).encode()), key="region_code", name="name", parent="er",
                     parent_name="er_name", file="regions.geojson")
    names = g[S.REGION_NAME].tolist() + g[S.PARENT_NAME].tolist()
    assert not any("<" in n or ">" in n for n in names)
    assert g[S.REGION_NAME].iloc[0] == "\u2039a href=\"http://127.0.0.1:9/x\"\u203aAbsheron\u2039/a\u203a\u2039b\u203a!\u2039/b\u203a"
    assert g[S.REGION].tolist() == ["AZE-1", "AZE-2"]          # codes are never changed


def test_risk_factor_names_and_units_carry_no_markup():
    csv = b"region_code,indicator,value,unit\nAZE-1,<a href=http://127.0.0.1:9/x>obesity</a>,1.5,<i>%</i>\n" \
          b"AZE-2,smoking,2.5,%\n"
    rf = read_risk_factors(io.BytesIO(csv), name="rf.csv")
    assert not rf[S.INDICATOR].str.contains("[<>]").any() and not rf[S.UNIT].str.contains("[<>]").any()
    assert rf[S.INDICATOR].tolist() == ["\u2039a href=http://127.0.0.1:9/x\u203aobesity\u2039/a\u203a", "smoking"]
    assert rf[S.UNIT].tolist() == ["\u2039i\u203a%\u2039/i\u203a", "%"] and rf[S.VALUE].tolist() == [1.5, 2.5]

