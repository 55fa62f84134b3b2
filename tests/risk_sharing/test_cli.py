"""``ipfin risk`` sub-commands: the I/O edge over the pure modules."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ipfin_app.commands import risk_sharing as cli
from risk_sharing.presets import PRESET_DIR


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_simulate_prints_the_exact_4_2_2_2_split_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["risk", "simulate", "--preset", "chongqing-4222", "--loss", "8000000.03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["payable_cny"] for p in out["parties"]] == ["3200000.01", "1600000.01", "1600000.01", "1600000.00"]


def test_simulate_rejects_sub_fen_loss(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["risk", "simulate", "--preset", "chongqing-4222", "--loss", "1.001"]) == 2
    assert "2 decimal" in capsys.readouterr().err


def test_presets_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["risk", "presets"]) == 0
    assert "zhongshan-54-26-16-4" in capsys.readouterr().out


def test_check_reports_bad_rule_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    data = json.loads((PRESET_DIR / "anhui-4321.json").read_text(encoding="utf-8"))
    data["parties"][0]["share"] = "41"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert _run(["risk", "check", str(PRESET_DIR / "chongqing-4222.json"), str(bad)]) == 1
    assert "shares must sum to exactly 100" in capsys.readouterr().err


def test_simulate_refuses_an_absurd_loss_with_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["risk", "simulate", "--preset", "chongqing-4222", "--loss", "1e30"]) == 2
    assert "loss_fen: must not exceed" in capsys.readouterr().err
