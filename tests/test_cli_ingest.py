"""``python -m analytics ingest``: summary, indicators, report CSV, exit codes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from analytics import canreg
from analytics.__main__ import main

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import trn_records as T  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _export(tmp_path):
    f = tmp_path / "trn.tsv"
    canreg.write_export(T.trn_frame(T.CASES), f, names="short", delimiter="\t")
    return f


def test_ingest_prints_account_and_writes_report(tmp_path, capsys):
    f = _export(tmp_path)
    rep = tmp_path / "out" / "report.csv"
    assert main(["ingest", str(f), "--report", str(rep)]) == 0
    out = capsys.readouterr().out
    assert "Records read: 9" in out and "Records excluded: 2" in out
    assert "canreg_deleted" in out and "FAMN (name)" in out
    assert "Data-quality indicators" in out
    report = pd.read_csv(rep, dtype=str)
    assert list(report.columns) == ["row", "tumour_id", "check", "severity", "column", "message"]
    assert {"4", "8"} <= set(report["row"])
    text = rep.read_text(encoding="utf-8")
    assert not any(n in text for n in T.NAMES)          # never an identifier in the report


def test_unreadable_file_exits_nonzero_with_message(tmp_path, capsys):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    assert main(["ingest", str(f)]) == 2
    err = capsys.readouterr().err
    assert "empty.csv" in err and "empty" in err and "Traceback" not in err


def test_population_and_mapping_options(tmp_path, capsys):
    f = tmp_path / "their.csv"
    f.write_text("Gender,Diag,Age,Site\r\nM,2020-01-05,61,C187\r\nF,2020-02-07,55,C504\r\n")
    m = tmp_path / "map.yaml"
    m.write_text("columns:\n  Gender: sex\n  Diag: incidence_date\n  Site: topography\ncodes:\n  sex: {M: 1, F: 2}\n")
    pop = tmp_path / "pop.csv"
    pop.write_text("year,sex,age_group,population\r\n2020,1,0-4,100\r\n2020,2,85 and over,50\r\n")
    assert main(["ingest", str(f), "--mapping", str(m), "--population", str(pop)]) == 0
    out = capsys.readouterr().out
    assert "Records read: 2" in out and "150 person-years" in out


def test_module_entry_point_subprocess(tmp_path):
    f = _export(tmp_path)
    ok = subprocess.run([sys.executable, "-m", "analytics", "ingest", str(f)], cwd=ROOT, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and "Records used: 7" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "analytics", "ingest", str(tmp_path / "missing.tsv")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


def test_assumptions_warnings_by_check_and_mi_ratio(tmp_path, capsys):
    f = tmp_path / "site_only.csv"
    f.write_text("sex,age,incidence_date,topography,basis,region\r\n1,61,2020-01-05,C341,7,R1\r\n"
                 "2,55,2020-02-07,C504,9,R1\r\n1,70,2020-03-01,C349,0,\r\n2,48,2020-03-09,C509,7,R2\r\n")
    deaths = tmp_path / "deaths.csv"
    deaths.write_text("year,sex,age_group,region_code,icd10,count\r\n2020,1,60-64,R1,C34,3\r\n"
                      "2020,2,55-59,R1,C50,1\r\n")
    rep = tmp_path / "r.csv"
    assert main(["ingest", str(f), "--deaths", str(deaths), "--by", "site_ci5", "--report", str(rep)]) == 0
    out = capsys.readouterr().out
    assert "Records read: 4" in out and "Records used: 4" in out
    assert "no morphology column" in out and "[morphology_assumed]: 4 records" in out
    # warnings broken down by check, with their counts
    assert "Warnings (records kept and counted): 2" in out
    assert "Basis of diagnosis is unknown. [basis_unknown]: 1" in out
    assert "Region of residence is missing. [region_missing]: 1" in out
    # M:I = 4 deaths / 4 cases overall; lung 3/2 = 1.50, breast 1/2 = 0.50
    lines = out.splitlines()
    assert lines[lines.index("Data-quality indicators (all records used):") + 2].rstrip().endswith("1.00")
    assert any(l.startswith("Lung") and l.rstrip().endswith("1.50") for l in lines)
    assert any(l.startswith("Breast") and l.rstrip().endswith("0.50") for l in lines)


def test_output_into_a_closed_pipe_is_not_a_traceback():
    # > 64 kB of indicators (site x year on the demo): more than a pipe holds once `head` has gone
    f = ROOT / "data" / "demo" / "tumours.parquet"
    p = subprocess.run(f"{sys.executable} -m analytics ingest {f} --by site_ci5,year | head -1", shell=True, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.stdout.startswith("Source:") and "Traceback" not in p.stderr
