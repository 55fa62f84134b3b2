"""Valuation API behaviour added in the acceptance audit: with-and-without is selectable over the
API, and inputs that used to give 500 (amounts past BIGINT fen, a discount build-up of 1 or more,
a 300-character trademark number) are 422 naming the field, storing nothing."""

import copy
import json
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

import valuation
from api.audit.models import AuditEvent
from api.valuation.models import Valuation

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}


def small(d: dict[str, Any]) -> dict[str, Any]:
    d["monte_carlo"].update(paths=2000, chunk_size=1000)
    return d


def test_with_and_without_valuation_over_the_api_hand_computed(client: Any, make_user: Any) -> None:
    """Increments 400k, 450k, 500k CNY, tax 25%, r = 10%, end-year: 833,395.94 CNY."""
    bank = make_user("bank", "officer")
    d = copy.deepcopy(EXAMPLE)
    for k in ("scores", "market", "cost", "real_option"):
        d.pop(k, None)
    d.update(weights={"income": 1.0}, monte_carlo={"paths": 2000, "chunk_size": 1000},
             economics={"revenue_volatility": 0.0, "tax_rate": 0.25},
             discount={"risk_free": 0.04, "technical": 0.03, "market": 0.03},
             income={"method": "with_and_without", "economic_life_years": 3,
                     "cash_flow_with_cny": ["1000000.00", "1100000.00", "1200000.00"],
                     "cash_flow_without_cny": ["600000.00", "650000.00", "700000.00"]})
    r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["appraised_value_fen"] == 83_339_594 and v["appraised_value_cny"] == "833395.94"
    assert v["result"]["income"]["method"] == "with_and_without"
    # the stored inputs come back with the valuation (audit trail), not in the list
    got = client.get(f"/api/v1/valuations/{v['id']}", headers=bank.headers).json()
    assert got["request"]["income"]["cash_flow_without_cny"] == ["600000.00", "650000.00", "700000.00"]
    listed = client.get("/api/v1/valuations", headers=bank.headers).json()["data"]
    assert [x["request"] for x in listed] == [None]


def test_inputs_that_used_to_crash_are_422_naming_the_field(client: Any, make_user: Any, engine: Any) -> None:
    bank = make_user("bank", "officer")
    overflow = small(copy.deepcopy(EXAMPLE))
    overflow["asset"].update(filing_date="2024-06-01", grant_date=None)
    overflow["valuation_date"] = "2025-12-31"  # 18.4 years of legal term left: the overflow, not the term, fails
    overflow["income"]["economic_life_years"] = 18
    overflow["economics"].update(base_revenue_cny="1000000000000", revenue_growth=1.0)
    overflow["monte_carlo"].pop("life_years", None)
    too_big = small(copy.deepcopy(EXAMPLE))
    too_big["economics"]["base_revenue_cny"] = "1e20"
    rate = small(copy.deepcopy(EXAMPLE))
    rate["discount"].update(risk_free=0.5, funding=0.3, management=0.3, premia_from_score=False)
    long_tm = small(copy.deepcopy(EXAMPLE))
    long_tm["asset"] = {"ip_type": "trademark", "identifier": "T" * 300, "registration_date": "2020-01-01"}
    s_curve = small(copy.deepcopy(EXAMPLE))
    s_curve["income"]["shape"] = {"kind": "s_curve", "midpoint": 1e6, "steepness": 1000}
    cases = [
        (overflow, ["body", "economics"]),
        (too_big, ["body", "economics", "base_revenue_cny"]),
        (rate, ["body", "discount"]),
        (long_tm, ["body", "asset", "identifier"]),
        (s_curve, ["body", "income", "shape", "midpoint"]),
    ]
    for d, loc in cases:
        r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
        assert r.status_code == 422, (loc, r.text)
        assert r.json()["detail"][0]["loc"] == loc, r.text
    with Session(engine) as s:
        assert s.exec(select(Valuation).where(Valuation.owner_org_id == bank.org.id)).all() == []
        assert s.exec(select(AuditEvent).where(AuditEvent.entity == "valuation",
                                               AuditEvent.actor_user_id == bank.id)).all() == []


def test_queued_job_runs_on_the_configured_dask_scheduler_with_the_same_result(
    client: Any, make_user: Any, monkeypatch: Any
) -> None:
    """IPFIN_DASK_SCHEDULER set: the job's chunks run on Dask (progress per chunk) and give the
    in-process value exactly (chunks carry their own seeds)."""
    import time

    from distributed import LocalCluster

    from api.core.config import get_settings
    from api.valuation import service as crud_valuation

    bank = make_user("bank", "officer")
    d = copy.deepcopy(EXAMPLE)
    d["monte_carlo"].update(paths=8000, chunk_size=2000)
    inline = client.post("/api/v1/valuations", json=d, headers=bank.headers)
    assert inline.status_code == 201, inline.text
    seen: list[float] = []
    real = crud_valuation.ProgressExecutor._done

    def spy(self: Any, i: int, n: int) -> None:
        seen.append(i / n)
        assert self.dask_address  # the job used the scheduler
        real(self, i, n)

    monkeypatch.setattr(crud_valuation, "SYNC_MAX_PATHS", 4000)
    monkeypatch.setattr(crud_valuation.ProgressExecutor, "_done", spy)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        monkeypatch.setattr(get_settings(), "dask_scheduler", lc.scheduler_address)
        r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
        assert r.status_code == 202, r.text
        q = r.json()
        for _ in range(600):
            job = client.get(f"/api/v1/jobs/{q['job_id']}", headers=bank.headers).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert seen == [0.25, 0.5, 0.75, 1.0]
    v = client.get(f"/api/v1/valuations/{q['valuation_id']}", headers=bank.headers).json()
    assert v["result"]["monte_carlo"] == inline.json()["result"]["monte_carlo"]
    assert v["appraised_value_fen"] == inline.json()["appraised_value_fen"]
