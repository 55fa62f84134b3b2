"""Demo valuations are real engine output: stored fen columns equal the stored result's."""

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from api.core.db import make_engine, upgrade
from api.demo import generate
from api.valuation.models import Valuation
from valuation.result import ValuationResult


def test_demo_valuations_are_engine_results_and_reproducible(tmp_path: Path) -> None:
    values: list[list[Any]] = []
    for name in ("a", "b"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        counts = generate(engine, 400, seed=9)
        with Session(engine) as s:
            rows = s.exec(select(Valuation).order_by(Valuation.id)).all()
        assert counts["valuations"] == len(rows) > 0
        for r in rows:
            res = ValuationResult.model_validate(r.result)
            assert r.appraised_value_fen == res.appraised_value_fen == sum(
                ln.contribution_fen for ln in res.reconciliation)
            assert r.ip_asset_id is not None and r.status == "succeeded"
        values.append([r.appraised_value_fen for r in rows])
    assert values[0] == values[1]
