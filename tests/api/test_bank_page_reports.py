"""The bank page's read models (``api/pledge/reports.py``) after their rewrite for 1,000,000 loans
(issue 17 item 1): they give the same figures as the API's own functions and the plain definitions.

- provisions by five-class category (贷款五级分类, 2002 guideline): a loan's class is the one its
  latest monitoring run at or before the as-of date recorded, else the overdue-day floor; only payable
  loans of the viewer; the bank's own rates; the same dict as ``GET /api/v1/pledge/provisions``;
- monitoring alerts: the latest run date of the viewer's loans only (another bank's later run does not
  hide it), early-warning alerts excluded;
- the bank filter's options: the banks with a loan in the viewer's aggregate scope.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from api.core.tenancy import loan_visibility
from api.identity.models import Organisation
from api.pledge import provisions
from api.pledge import reports as pledge_reports
from api.pledge.models import BucketHistory, Loan, PledgeAlert, ProvisionRatesRow
from api.stats import filters
from pledge.lifecycle import PAYABLE_STATES
from pledge.monitoring import LoanClass, classify_loan
from tests.dashboard.book import make_book

pytestmark = pytest.mark.db

AS_OF = date(2026, 6, 30)


def _history(s: Session, loan: Loan, on: date, klass: str, dpd: int = 0) -> None:
    s.add(BucketHistory(loan_id=loan.id, as_of=on, days_overdue=dpd, bucket_index=0, bucket_label="x",
                        loan_class=klass))


def _reference_classes(s: Session, org: Organisation, as_of: date) -> list[tuple[int, LoanClass]]:
    """The classes written the plain way, as an independent reference: every payable loan the
    organisation sees as an object, all its history up to ``as_of`` in date-then-id order, the last
    one wins; a loan never monitored takes the overdue-day floor."""
    loans = s.exec(select(Loan).where(loan_visibility(org),
                                      col(Loan.status).in_([x.value for x in PAYABLE_STATES]))).all()
    latest: dict[int, str] = {}
    for h in s.exec(select(BucketHistory).where(col(BucketHistory.as_of) <= as_of)
                    .order_by(col(BucketHistory.as_of), col(BucketHistory.id))).all():
        latest[h.loan_id] = h.loan_class
    return [(ln.outstanding_fen, LoanClass(latest[ln.id]) if ln.id in latest else classify_loan(ln.days_past_due))
            for ln in loans]


def _alert(s: Session, loan: Loan, on: date, code: str, severity: str) -> None:
    s.add(PledgeAlert(loan_id=loan.id, code=code, severity=severity, message="test", as_of=on))


def test_provisions_by_class_follow_the_latest_run_at_as_of_and_equal_the_api(engine: Any, make_org: Any) -> None:
    bank, other = make_org("bank"), make_org("bank")
    book = make_book(engine, bank)
    make_book(engine, other)  # another bank's loans: never counted
    L = book.loans
    with Session(engine) as s:
        # L1: normal, then doubtful (the latest at AS_OF), then loss after AS_OF (ignored)
        _history(s, L["L1"], date(2026, 1, 31), "normal")
        _history(s, L["L1"], date(2026, 5, 31), "doubtful", 200)
        _history(s, L["L1"], date(2026, 7, 31), "loss", 400)
        # L2: two runs on the same day: the later row (higher id) counts
        _history(s, L["L2"], date(2026, 3, 31), "loss", 400)
        _history(s, L["L2"], date(2026, 3, 31), "substandard", 120)
        # L4 is settled (not payable) and L6 a draft: their history never counts
        _history(s, L["L4"], date(2026, 3, 31), "loss", 400)
        # L3 (100 days overdue), L5, L7: never monitored → the overdue-day floor
        s.add(ProvisionRatesRow(org_id=bank.id, rates={
            "normal": "0.015", "special_mention": "0.02", "substandard": "0.25", "doubtful": "0.5", "loss": "1",
            "general_reserve_rate": "0.01"}))
        s.commit()
    with engine.connect() as conn:
        fast = pledge_reports.provisions_by_class(conn, bank, AS_OF)
        assert sorted(provisions.loan_classes(conn, bank, AS_OF)) == sorted(_reference_classes(Session(conn), bank,
                                                                                               AS_OF))
    with Session(engine) as s:
        assert provisions.provisions(s, bank, AS_OF) == fast  # the API's figures are the page's
    by_class = {c["loan_class"]: c for c in fast["classes"]}
    m = 100
    assert by_class["doubtful"]["outstanding_fen"] == 4_000_000 * m  # L1
    assert by_class["substandard"]["outstanding_fen"] == 12_000_000 * m + 800_000_050  # L2, and L3 by its 100 days
    assert by_class["normal"]["outstanding_fen"] == (1_000_000 + 1_000_000) * m  # L5, L7
    assert by_class["loss"]["count"] == 0
    assert sum(c["count"] for c in fast["classes"]) == 5
    # each loan rounded once; the classes sum to the total (L3's 8,000,000.50 CNY × 25 % = 200,000,012.5 fen → 12)
    assert by_class["substandard"]["provision_fen"] == 300_000_000 + 200_000_012
    assert fast["specific_provision_fen"] == sum(c["provision_fen"] for c in fast["classes"])


def test_monitoring_alerts_are_the_viewers_latest_run(engine: Any, make_org: Any) -> None:
    bank, other = make_org("bank"), make_org("bank")
    mine, theirs = make_book(engine, bank).loans, make_book(engine, other).loans
    with Session(engine) as s:
        _alert(s, mine["L1"], date(2026, 4, 30), "revaluation_due", "info")  # an older run: not shown
        _alert(s, mine["L1"], date(2026, 5, 31), "ltv_breach", "warning")
        _alert(s, mine["L2"], date(2026, 5, 31), "ltv_breach", "warning")
        _alert(s, mine["L2"], date(2026, 5, 31), "npl", "critical")
        _alert(s, mine["L3"], date(2026, 6, 15), "early_warning", "warning")  # scoring alerts are not monitoring
        _alert(s, theirs["L1"], date(2026, 6, 30), "npl", "critical")  # another bank's later run
        s.commit()
    with engine.connect() as conn:
        rows = pledge_reports.monitoring_alerts(conn, bank)
        theirs_rows = pledge_reports.monitoring_alerts(conn, other)
    assert rows == [
        {"code": "ltv_breach", "severity": "warning", "count": 2, "as_of": date(2026, 5, 31)},
        {"code": "npl", "severity": "critical", "count": 1, "as_of": date(2026, 5, 31)},
    ]
    assert theirs_rows == [{"code": "npl", "severity": "critical", "count": 1, "as_of": date(2026, 6, 30)}]


@pytest.mark.parametrize("kind,region", [("bureau", None), ("bureau", "330000"), ("bank", None)])
def test_bank_options_are_the_banks_lending_in_scope(engine: Any, make_org: Any, kind: str, region: Any) -> None:
    viewer = make_org(kind, region_code=region)
    if kind == "bank":
        make_book(engine, viewer)
    with engine.connect() as conn:
        got = pledge_reports.bank_options(conn, viewer)
    with Session(engine) as s:
        ids = set(s.exec(select(Loan.bank_org_id).where(filters.aggregate_scope(viewer))).all())
        want = sorted(((o.id, o.name) for o in s.exec(select(Organisation)).all() if o.id in ids),
                      key=lambda r: r[1])
    assert got == want
    if kind == "bank":
        assert got == [(viewer.id, viewer.name)]
