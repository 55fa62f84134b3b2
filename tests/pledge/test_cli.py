"""The pledge CLI commands (file in, text/JSON out)."""

from __future__ import annotations

import argparse
import csv
import json

from ipfin_app.commands.pledge import register


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_schedule_csv_principal_sums_to_the_amount(tmp_path):
    out = tmp_path / "s.csv"
    assert run(["pledge-schedule", "--amount", "1000000.00", "--lpr", "0.031", "--spread-bp", "90",
                "--start", "2026-01-15", "--periods", "12", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 12 and rows[0]["due_date"] == "2026-02-24"
    assert sum(int(r["principal"].replace(".", "")) for r in rows) == 100_000_000


def test_schedule_rejects_a_bad_amount(capsys):
    assert run(["pledge-schedule", "--amount", "-5", "--rate", "0.04", "--start", "2026-01-15",
                "--periods", "12"]) == 2
    assert "negative" in capsys.readouterr().err


def test_max_loan_prints_the_explanation(tmp_path, capsys):
    f = tmp_path / "c.json"
    f.write_text(json.dumps([{"asset_id": "P1", "ip_type": "invention_patent", "score": 85,
                              "value_cny": "10000000.00"}]))
    assert run(["pledge-max-loan", "--collateral", str(f)]) == 0
    assert "maximum loan 5,130,000.00 CNY" in capsys.readouterr().out


def test_monitor_writes_alerts_for_a_file_of_snapshots(tmp_path):
    f = tmp_path / "snaps.json"
    f.write_text(json.dumps([{"loan_id": "L1", "as_of": "2026-06-30", "maturity": "2027-06-30", "days_overdue": 95,
                              "outstanding_fen": 80, "collateral_value_fen": 100,
                              "last_valuation_date": "2026-01-01",
                              "collateral": [{"asset_id": "P1", "ip_type": "invention_patent",
                                              "legal_status": "invalidated"}]}]))
    out = tmp_path / "alerts.json"
    assert run(["monitor", "--input", str(f), "--output", str(out)]) == 0
    (res,) = json.loads(out.read_text())
    assert res["bucket"] == "90+" and res["class"] == "substandard"
    assert [a["code"] for a in res["alerts"]] == ["overdue", "npl", "ltv_breach", "ip_invalidated"]
