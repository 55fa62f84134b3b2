"""A hand-made loan book with known totals, shared by the aggregation, API and figure tests.

Bank A (in 2025): L1 5,000,000.00 Hangzhou active; L2 15,000,000.00 Ningbo default;
L3 8,000,000.50 Nanjing overdue 100 days; L4 20,000,000.00 Suzhou settled; L6 draft (never
counted). In 2024: L5 3,000,000 Hangzhou active; L7 1,000,000 Ningbo active (2024-12-31).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from api.pledge.models import Borrower, IPAsset, Loan, LoanCollateral
from tests.factories import credit_code

Y2025 = {"date_from": date(2025, 1, 1), "date_to": date(2025, 12, 31)}


@dataclass
class Book:
    bank: Any
    loans: dict[str, Loan]
    borrowers: dict[str, Borrower]


def _loan(s: Session, bank_id: int, b: Borrower, ref: str, fen: int, orig: date, status: str, out_fen: int,
          region: str, industry: str, ip_type: str, dpd: int = 0) -> Loan:
    loan = Loan(
        reference=ref, bank_org_id=bank_id, borrower_id=b.id, amount_fen=fen, outstanding_fen=out_fen,
        annual_rate=Decimal("0.04"), term_months=12, status=status, region_code=region,
        province_code=region[:2] + "0000", industry=industry, primary_ip_type=ip_type, ip_types=ip_type,
        days_past_due=dpd, origination_date=orig, maturity_date=date(orig.year + 1, orig.month, orig.day),
    )
    s.add(loan)
    s.flush()
    return loan


def make_book(engine: Any, bank: Any) -> Book:
    """Insert the book for ``bank`` (an Organisation) and return its rows."""
    tag = f"{bank.id:06d}"
    with Session(engine) as s:
        bs = {}
        for key, region, ind in (("B1", "330100", "C"), ("B2", "330200", "I"), ("B3", "320500", "M")):
            b = Borrower(name=f"企业{key}", credit_code=credit_code(region), region_code=region, industry=ind,
                         owner_org_id=bank.id)
            s.add(b)
            s.flush()
            bs[key] = b
        m = 100  # fen per CNY
        L = {
            "L1": _loan(s, bank.id, bs["B1"], f"T{tag}L1", 5_000_000 * m, date(2025, 1, 15), "active",
                        4_000_000 * m, "330100", "C", "invention_patent"),
            "L2": _loan(s, bank.id, bs["B2"], f"T{tag}L2", 15_000_000 * m, date(2025, 2, 10), "default",
                        12_000_000 * m, "330200", "I", "trademark", dpd=120),
            "L3": _loan(s, bank.id, bs["B1"], f"T{tag}L3", 800_000_050, date(2025, 2, 20), "overdue",
                        800_000_050, "320100", "C", "utility_model", dpd=100),
            "L4": _loan(s, bank.id, bs["B3"], f"T{tag}L4", 20_000_000 * m, date(2025, 4, 1), "settled", 0,
                        "320500", "M", "invention_patent"),
            "L5": _loan(s, bank.id, bs["B3"], f"T{tag}L5", 3_000_000 * m, date(2024, 3, 5), "active",
                        1_000_000 * m, "330100", "C", "invention_patent"),
            "L6": _loan(s, bank.id, bs["B1"], f"T{tag}L6", 7_000_000 * m, date(2025, 5, 5), "draft",
                        7_000_000 * m, "330100", "C", "invention_patent"),
            "L7": _loan(s, bank.id, bs["B2"], f"T{tag}L7", 1_000_000 * m, date(2024, 12, 31), "active",
                        1_000_000 * m, "330200", "I", "trademark"),
        }
        # collateral: L1 appraised 10M (LTV 40%, registered 2024-12-01 → re-valuation due at 2025-12-31);
        # L2 appraised 15M (LTV 80%, patent lapsed); L3, L5, L7 none.
        for key, value_cny, legal, registered in (("L1", 10_000_000, "granted", date(2024, 12, 1)),
                                                  ("L2", 15_000_000, "lapsed", date(2025, 2, 1))):
            loan = L[key]
            a = IPAsset(ip_type="invention_patent", identifier=f"X{tag}{key}", title="测试专利", legal_status=legal,
                        borrower_id=loan.borrower_id, owner_org_id=bank.id)
            s.add(a)
            s.flush()
            s.add(LoanCollateral(loan_id=loan.id, ip_asset_id=a.id, appraised_value_fen=value_cny * m,
                                 pledge_registered_on=registered, pledge_status="registered"))
        s.commit()
        for x in [*L.values(), *bs.values()]:
            s.refresh(x)
            s.expunge(x)
    return Book(bank=bank, loans=L, borrowers=bs)
