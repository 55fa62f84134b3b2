"""The bank page's collateral report (``api.stats.collateral.collateral_report``) after its rewrite for
1,000,000 loans (issue 17 item 1: the per-loan rows are built once and read by the band roll-up and the
alert list in one statement) equals the plain definition written out loan by loan in Python:

- the live loans (``LIVE_STATUSES``) of the bank, no other bank's;
- a loan's appraised value is the sum over its unreleased collateral of the asset's latest re-valuation
  (latest valuation date, then highest id) or else the appraisal at pledging; LTV = outstanding ÷ value;
- LTV breach: value > 0 and outstanding × 100 > value × limit (integers); lapse: any pledged asset
  lapsed/invalidated/expired or with its annual fee paid until a date before ``as_of``; re-valuation due:
  the stalest appraisal (latest re-valuation date, else the pledge registration date) before ``as_of``
  minus ``revaluation_months``;
- value, LTV and days-past-due bands with their edges inclusive above (``≤1M`` holds exactly 1M CNY);
- alerts: the flagged loans by outstanding (largest first), then id, at most ``alert_limit``.

A seeded random book (seed 17) with loans placed on the band edges, two valuations on one day and
released collateral.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from api.pledge.models import Borrower, CollateralValuation, IPAsset, Loan, LoanCollateral
from api.stats import collateral
from api.stats.filters import LIVE_STATUSES, _add_months
from tests.factories import credit_code

pytestmark = pytest.mark.db

AS_OF = date(2026, 6, 30)
STATUSES = ("active", "overdue", "default", "in_claim", "in_disposal", "settled", "written_off", "draft")
LEGAL = ("granted", "granted", "granted", "lapsed", "invalidated", "expired", "pending")


def _book(engine: Any, bank: Any, seed: int, n: int = 80) -> None:
    """``n`` random loans of ``bank`` with 0-3 collateral items each, plus loans on the band edges."""
    rng = random.Random(seed)
    tag = f"{bank.id:05d}"
    with Session(engine) as s:
        b = Borrower(name="企业R", credit_code=credit_code("330100"), region_code="330100", industry="C",
                     owner_org_id=bank.id)
        s.add(b)
        s.flush()
        # (outstanding fen, [(appraised fen, latest re-valuation fen or None)]): LTV exactly 60% and 30%;
        # value exactly 1M and 5M CNY; no collateral; only released collateral
        edges: list[tuple[int, list[tuple[int, int | None]]]] = [
            (60_000_000, [(100_000_000, None)]), (30_000_000, [(100_000_000, None)]),
            (1, [(500_000_000, None)]), (7, [(40_000_000, 100_000_000)]), (5, []),
        ]
        for i in range(n + len(edges) + 1):
            if i < len(edges):
                out, items = edges[i]
            else:
                out = rng.choice((0, rng.randrange(1, 10**11)))
                items = [(rng.randrange(0, 10**11), rng.choice((None, rng.randrange(1, 10**11))))
                         for _ in range(rng.randrange(0, 4))]
            status = "active" if i < len(edges) else rng.choice(STATUSES)
            orig = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 800))
            loan = Loan(
                reference=f"R{tag}-{i:03d}", bank_org_id=bank.id, borrower_id=b.id, amount_fen=max(out, 1),
                outstanding_fen=out, annual_rate=Decimal("0.04"), term_months=12, status=status,
                region_code="330100", province_code="330000", industry="C", primary_ip_type="invention_patent",
                ip_types="invention_patent", days_past_due=rng.choice((0, 0, 1, 30, 31, 90, 91, 180, 365, 366, 900)),
                origination_date=orig, maturity_date=orig + timedelta(days=365),
            )
            s.add(loan)
            s.flush()
            released_only = i == len(edges)
            for k, (appraised, revalued) in enumerate(items or ([(10**9, None)] if released_only else [])):
                fee = rng.choice((None, AS_OF - timedelta(days=1), AS_OF, AS_OF + timedelta(days=30)))
                a = IPAsset(ip_type="invention_patent", identifier=f"R{tag}-{i}-{k}", title="测试专利",
                            legal_status="granted" if i < len(edges) else rng.choice(LEGAL),
                            annual_fee_paid_until=None if i < len(edges) else fee,
                            borrower_id=b.id, owner_org_id=bank.id)
                s.add(a)
                s.flush()
                registered = AS_OF - timedelta(days=rng.randrange(0, 900))
                s.add(LoanCollateral(
                    loan_id=loan.id, ip_asset_id=a.id, appraised_value_fen=appraised, pledge_registered_on=registered,
                    pledge_status="released" if released_only or rng.random() < 0.15 else "registered"))
                if revalued is not None:
                    day = registered + timedelta(days=rng.randrange(0, 400))
                    # an older re-valuation, then two on the latest day: the higher id is the latest
                    for when, fen in ((day - timedelta(days=90), revalued * 3), (day, revalued + 11), (day, revalued)):
                        s.add(CollateralValuation(ip_asset_id=a.id, value_fen=fen, valuation_date=when,
                                                  source="appraiser", report_reference="R"))
                        s.flush()
        s.commit()


def _reference(s: Session, bank: Any, limit_pct: int, months: int, alert_limit: int) -> dict[str, Any]:
    """The report computed the plain way: every live loan of the bank as an object, its collateral one by one."""
    loans = s.exec(select(Loan).where(Loan.bank_org_id == bank.id, Loan.status.in_(LIVE_STATUSES))).all()  # type: ignore[attr-defined]
    due_before = _add_months(AS_OF, -months)
    rows = []
    for ln in loans:
        value, lapsed, stalest = 0, False, None
        for lc in s.exec(select(LoanCollateral).where(LoanCollateral.loan_id == ln.id)).all():
            if lc.pledge_status == "released":
                continue
            vals = s.exec(select(CollateralValuation).where(CollateralValuation.ip_asset_id == lc.ip_asset_id)).all()
            latest = max(vals, key=lambda v: (v.valuation_date, v.id), default=None)
            value += latest.value_fen if latest else lc.appraised_value_fen
            appraised_on = latest.valuation_date if latest else lc.pledge_registered_on
            stalest = appraised_on if stalest is None else min(stalest, appraised_on)
            a = s.get(IPAsset, lc.ip_asset_id)
            assert a is not None
            fee_unpaid = a.annual_fee_paid_until is not None and a.annual_fee_paid_until < AS_OF
            lapsed = lapsed or a.legal_status in ("lapsed", "invalidated", "expired") or fee_unpaid
        rows.append((ln, value, lapsed, stalest is not None and stalest < due_before))
    value_bands: dict[str, list[int]] = {}
    ltv_bands: dict[str, list[int]] = {}
    dpd_bands: dict[str, list[int]] = {}
    alerts = []
    millions = tuple(x // 1_000_000 for x in collateral.VALUE_BANDS_CNY)
    for ln, value, lapsed, reval in rows:
        out = ln.outstanding_fen
        v_lbl = "no valuation" if value <= 0 else next(
            (collateral._band_label(lo, hi, "M") for lo, hi in zip((None, *millions[:-1]), millions, strict=True)
             if value <= hi * 100_000_000), f">{millions[-1]}M")  # M CNY → fen
        l_lbl = "no valuation" if value <= 0 else next(
            (collateral._band_label(lo, hi, "%") for lo, hi in zip((None, *collateral.LTV_BANDS_PCT[:-1]),
                                                                   collateral.LTV_BANDS_PCT, strict=True)
             if out * 100 <= value * hi), f">{collateral.LTV_BANDS_PCT[-1]}%")
        d_lbl = next((lbl for lbl, _, hi in collateral.DPD_BANDS if hi is None or ln.days_past_due <= hi))
        for acc, lbl in ((value_bands, v_lbl), (ltv_bands, l_lbl), (dpd_bands, d_lbl)):
            acc.setdefault(lbl, [0, 0])
            acc[lbl][0] += 1
            acc[lbl][1] += out
        breach = value > 0 and out * 100 > value * limit_pct
        if breach or lapsed or reval:
            alerts.append({"loan_id": ln.id, "reference": ln.reference, "outstanding_fen": out,
                           "appraised_fen": value, "ltv": out / value if value else None,
                           "days_past_due": ln.days_past_due, "ltv_breach": breach, "lapse": lapsed,
                           "revaluation_due": reval})
    alerts.sort(key=lambda a: (-a["outstanding_fen"], a["loan_id"]))
    return {
        "loan_count": len(rows), "outstanding_fen": sum(r[0].outstanding_fen for r in rows),
        "appraised_fen": sum(r[1] for r in rows),
        "ltv_breach_count": sum(a["ltv_breach"] for a in alerts), "lapse_count": sum(a["lapse"] for a in alerts),
        "revaluation_due_count": sum(a["revaluation_due"] for a in alerts),
        "value": {k: tuple(v) for k, v in value_bands.items()}, "ltv": {k: tuple(v) for k, v in ltv_bands.items()},
        "dpd": {k: tuple(v) for k, v in dpd_bands.items()}, "alerts": alerts[:alert_limit],
    }


def _fast(rep: collateral.CollateralReport) -> dict[str, Any]:
    def nonzero(buckets: list[collateral.Bucket]) -> dict[str, tuple[int, int]]:
        return {b.label: (b.loan_count, b.amount_fen) for b in buckets if b.loan_count}

    return {
        "loan_count": rep.loan_count, "outstanding_fen": rep.outstanding_fen, "appraised_fen": rep.appraised_fen,
        "ltv_breach_count": rep.ltv_breach_count, "lapse_count": rep.lapse_count,
        "revaluation_due_count": rep.revaluation_due_count, "value": nonzero(rep.value_distribution),
        "ltv": nonzero(rep.ltv_distribution), "dpd": nonzero(rep.dpd_buckets), "alerts": rep.alerts,
    }


@pytest.mark.parametrize("limit_pct,months,alert_limit", [(60, 12, 200), (50, 6, 7), (70, 24, 1)])
def test_collateral_report_equals_the_plain_loan_by_loan_definition(
    engine: Any, make_org: Any, limit_pct: int, months: int, alert_limit: int
) -> None:
    bank, other = make_org("bank"), make_org("bank")
    _book(engine, bank, seed=17)
    _book(engine, other, seed=18, n=20)  # another bank's book: never counted
    with engine.connect() as conn:
        rep = collateral.collateral_report(conn, bank, as_of=AS_OF, ltv_limit_pct=limit_pct,
                                           revaluation_months=months, alert_limit=alert_limit)
    with Session(engine) as s:
        want = _reference(s, bank, limit_pct, months, alert_limit)
    assert _fast(rep) == want
    # the edge loans land where the inclusive edges put them
    assert want["loan_count"] > 20 and want["alerts"]
    labels = [b.label for b in rep.value_distribution]
    assert labels == ["no valuation", "≤1M", "1-5M", "5-10M", "10-50M", "50-100M", ">100M"]
    assert [b.label for b in rep.ltv_distribution] == ["no valuation", "≤30%", "30-40%", "40-50%", "50-60%",
                                                       "60-70%", ">70%"]
    assert sum(b.loan_count for b in rep.ltv_distribution) == rep.loan_count
    assert sum(b.amount_fen for b in rep.dpd_buckets) == rep.outstanding_fen
