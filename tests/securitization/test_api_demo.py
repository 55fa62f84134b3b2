"""Demo data extension: reference deals and a loan-book pool are seeded and can be run."""

from typing import Any

from sqlmodel import Session, select

from api.core.db import make_engine, upgrade
from api.demo import generate
from api.securitization.models import AbsDeal, AbsPool
from securitization.deal import deal_from_dict, run_deal


def test_demo_data_seeds_the_reference_deals_and_a_runnable_pool_of_demo_loans(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    counts = generate(engine, 2_000, seed=5)
    assert counts["abs_pools"] == counts["abs_deals"] >= 3
    with Session(engine) as s:
        pools = {p.id: p for p in s.exec(select(AbsPool)).all()}
        deals = s.exec(select(AbsDeal)).all()
    assert {d.name for d in deals} >= {"NANSHAN-GXT-IP-5-2022", "XYYR-GZKFQ-PATENT-LICENCE-2019"}
    for d in deals:
        deal = deal_from_dict({**d.structure, "pool": pools[d.pool_id].definition})
        assert deal.pool.balance_fen == pools[d.pool_id].balance_fen
        res = run_deal(deal, include_periods=False).to_dict()
        assert res["scenarios"][0]["waterfall"]["tranches"]
