"""ICD-O-3 -> ICD-10 conversion against a table written from the manuals.

Expected codes read from the ICD-O-3 manual (WHO 2000; ICD-O-3.1, WHO 2013: topography
list, morphology list with behaviour codes) and the ICD-10 tabular list (WHO 2016, chapter
II: C00-C97, D00-D48), following the conversion rules of IARCcrgTools (Ferlay et al. 2005,
IARC Technical Report 42).
"""
import numpy as np
import pandas as pd
import pytest

from analytics import coding

# (topography, morphology, behaviour, expected ICD-10)
TABLE = [
    # solid malignant: ICD-10 = topography; 3-character categories have no 4th digit
    ("C509", "8500", 3, "C509"), ("C504", "8520", 3, "C504"), ("C619", "8140", 3, "C61"),
    ("C739", "8260", 3, "C73"), ("C209", "8140", 3, "C20"), ("C199", "8140", 3, "C19"),
    ("C180", "8140", 3, "C180"), ("C181", "8240", 3, "C181"), ("C341", "8070", 3, "C341"),
    ("C349", "8041", 3, "C349"), ("C339", "8070", 3, "C33"), ("C569", "8441", 3, "C56"),
    ("C589", "9100", 3, "C58"), ("C649", "8312", 3, "C64"), ("C659", "8120", 3, "C65"),
    ("C669", "8120", 3, "C66"), ("C529", "8070", 3, "C52"), ("C019", "8070", 3, "C01"),
    ("C079", "8430", 3, "C07"), ("C129", "8070", 3, "C12"), ("C239", "8140", 3, "C23"),
    ("C379", "8580", 3, "C37"), ("C559", "8890", 3, "C55"), ("C444", "8090", 3, "C444"),
    ("C443", "8070", 3, "C443"), ("C445", "8247", 3, "C445"), ("C401", "9180", 3, "C401"),
    ("C629", "9061", 3, "C629"), ("C620", "9070", 3, "C620"), ("C259", "8500", 3, "C259"),
    ("C499", "8800", 3, "C499"), ("C711", "9380", 3, "C711"), ("C720", "9391", 3, "C720"),
    ("C649", "8960", 3, "C64"), ("C220", "8970", 3, "C220"), ("C220", "8170", 3, "C220"),
    ("C692", "9510", 3, "C692"), ("C749", "9500", 3, "C749"), ("C809", "8000", 3, "C809"),
    ("C422", "8800", 3, "C261"),   # spleen: ICD-10 C26.1
    # melanoma of skin -> C43, of other sites -> the site; in situ -> D03; naevus -> D22
    ("C445", "8720", 3, "C435"), ("C447", "8743", 3, "C437"), ("C440", "8720", 3, "C430"),
    ("C449", "8720", 3, "C439"), ("C693", "8720", 3, "C693"), ("C518", "8720", 3, "C518"),
    ("C445", "8720", 2, "D035"), ("C443", "8720", 2, "D033"), ("C449", "8743", 2, "D039"),
    ("C445", "8720", 0, "D225"),
    # Kaposi sarcoma -> C46.x
    ("C445", "9140", 3, "C460"), ("C494", "9140", 3, "C461"), ("C059", "9140", 3, "C462"),
    ("C779", "9140", 3, "C463"), ("C349", "9140", 3, "C465"), ("C169", "9140", 3, "C467"),
    ("C809", "9140", 3, "C469"),
    # mesothelioma -> C45.x
    ("C384", "9050", 3, "C450"), ("C481", "9052", 3, "C451"), ("C380", "9050", 3, "C452"),
    ("C637", "9050", 3, "C457"), ("C809", "9050", 3, "C459"),
    # lymphomas, leukaemias, myeloma: from morphology whatever the site
    ("C779", "9680", 3, "C833"), ("C169", "9680", 3, "C833"), ("C779", "9650", 3, "C819"),
    ("C779", "9663", 3, "C811"), ("C779", "9652", 3, "C812"), ("C779", "9659", 3, "C810"),
    ("C779", "9690", 3, "C829"), ("C779", "9673", 3, "C831"), ("C779", "9687", 3, "C837"),
    ("C445", "9700", 3, "C840"), ("C169", "9699", 3, "C884"), ("C421", "9761", 3, "C880"),
    ("C421", "9732", 3, "C900"), ("C421", "9823", 3, "C911"), ("C421", "9835", 3, "C910"),
    ("C421", "9861", 3, "C920"), ("C421", "9863", 3, "C921"), ("C421", "9866", 3, "C924"),
    ("C421", "9867", 3, "C925"), ("C421", "9891", 3, "C930"), ("C421", "9940", 3, "C914"),
    ("C421", "9945", 3, "C931"), ("C421", "9800", 3, "C959"), ("C421", "9801", 3, "C950"),
    # myeloproliferative / myelodysplastic (malignant in ICD-O-3, chapter D in ICD-10)
    ("C421", "9950", 3, "D45"), ("C421", "9962", 3, "D473"), ("C421", "9989", 3, "D469"),
    ("C421", "9980", 3, "D464"), ("C421", "9983", 3, "D462"), ("C421", "9765", 1, "D472"),
    # in situ D00-D09
    ("C679", "8120", 2, "D090"), ("C539", "8070", 2, "D069"), ("C530", "8070", 2, "D060"),
    ("C509", "8500", 2, "D051"), ("C509", "8520", 2, "D050"), ("C619", "8148", 2, "D075"),
    ("C180", "8140", 2, "D010"), ("C209", "8140", 2, "D012"), ("C169", "8140", 2, "D002"),
    ("C150", "8070", 2, "D001"), ("C349", "8070", 2, "D022"), ("C320", "8070", 2, "D020"),
    ("C445", "8070", 2, "D045"), ("C541", "8380", 2, "D070"), ("C519", "8077", 2, "D071"),
    ("C529", "8077", 2, "D072"), ("C609", "8070", 2, "D074"), ("C809", "8010", 2, "D099"),
    # benign D10-D36
    ("C679", "8120", 0, "D303"), ("C739", "8330", 0, "D34"), ("C700", "9530", 0, "D320"),
    ("C751", "8272", 0, "D352"), ("C569", "8441", 0, "D27"), ("C180", "8210", 0, "D120"),
    ("C187", "8140", 0, "D125"), ("C209", "8210", 0, "D128"), ("C549", "8890", 0, "D259"),
    ("C509", "9010", 0, "D24"), ("C649", "8140", 0, "D300"), ("C490", "8850", 0, "D170"),
    ("C496", "8850", 0, "D171"), ("C445", "9120", 0, "D180"), ("C384", "9050", 0, "D190"),
    ("C629", "9084", 0, "D292"), ("C569", "9084", 0, "D27"),
    # uncertain D37-D48
    ("C679", "8120", 1, "D414"), ("C700", "9539", 1, "D420"), ("C716", "9421", 1, "D431"),
    ("C569", "8442", 1, "D391"), ("C254", "8150", 1, "D377"), ("C181", "8240", 1, "D373"),
    ("C160", "8936", 1, "D371"), ("C171", "8936", 1, "D372"), ("C809", "8000", 1, "D489"),
    ("C619", "8000", 1, "D400"), ("C446", "8000", 1, "D485"),
]


def test_table_is_large_enough():
    assert len(TABLE) >= 60
    assert len({(t, m, b) for t, m, b, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize("topo,morph,beh,expected", TABLE)
def test_conversion_table(topo, morph, beh, expected):
    got = coding.icdo3_to_icd10(pd.Series([topo]), pd.Series([morph]), pd.Series([beh]))
    assert got.iloc[0] == expected


def test_vectorised_matches_rowwise_and_keeps_index():
    df = pd.DataFrame(TABLE, columns=["t", "m", "b", "x"], index=np.arange(len(TABLE)) * 3 + 7)
    got = coding.icdo3_to_icd10(df["t"], df["m"], df["b"])
    assert list(got.index) == list(df.index)
    assert got.astype(object).tolist() == df["x"].tolist()


@pytest.mark.parametrize("topo", ["C50.9", "509", "c509", " C509 "])
def test_topography_spellings(topo):
    assert coding.icdo3_to_icd10(pd.Series([topo]), pd.Series(["8500"]), pd.Series([3])).iloc[0] == "C509"


def test_morphology_with_behaviour_suffix():
    assert coding.parse_morphology(pd.Series(["8140/3", "8140", "81403"])).tolist() == [8140, 8140, 8140]


@pytest.mark.parametrize("topo,morph,beh", [
    (None, "8140", 3), ("C509", None, 3), ("C509", "8140", None), ("C999", "8140", 3),
    ("C510", "8070", 6),        # behaviour 6 is read as 3 by ingest, not here
    ("C509", "7140", 3), ("C509", "8140", 5), ("C509", "abcd", 3),
    ("C509", "9780", 3),        # inside the haematological block, not an ICD-O-3 code
])
def test_missing_or_invalid_gives_na(topo, morph, beh):
    got = coding.icdo3_to_icd10(pd.Series([topo], dtype=object), pd.Series([morph], dtype=object),
                                pd.Series([beh], dtype="Int8"))
    assert pd.isna(got.iloc[0])


def test_parse_sentinels():
    t = coding.parse_topography(pd.Series(["C509", None, "C99", "C655"], dtype=object))
    assert t.tolist() == [509, coding.MISSING, coding.INVALID, coding.INVALID]


def test_valid_topography_list_size():
    # ICD-O-3 has 331 topography codes
    assert len(coding.VALID_TOPOGRAPHY) == 331
    assert 809 in coding.VALID_TOPOGRAPHY and 655 not in coding.VALID_TOPOGRAPHY


@pytest.mark.parametrize("code,counted", [
    ("C509", True), ("C61", True), ("C809", True), ("D090", True), ("D414", True),
    ("D45", True), ("D462", True), ("D472", True), ("D051", False), ("D303", False),
    ("D320", False), ("D489", False), (None, False),
])
def test_is_counted(code, counted):
    assert bool(coding.is_counted(pd.Series([code], dtype=object))[0]) is counted


def test_is_counted_on_categorical_matches_object():
    codes = pd.Series(["C509", "D090", "D303", None, "D45"], dtype=object)
    assert (coding.is_counted(codes.astype("category")) == coding.is_counted(codes)).all()


def test_haem_table_rows_are_valid():
    tab = coding.haem_table()
    assert (tab["morph_from"] <= tab["morph_to"]).all()
    assert tab["morph_from"].between(9590, 9992).all() and tab["morph_to"].between(9590, 9992).all()
    assert tab["icd10"].str.match(r"^(C8[1-9]|C9[0-6]|D4[5-7])\d?$").all()
