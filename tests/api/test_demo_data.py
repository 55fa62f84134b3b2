"""Demo data: reproducible, valid identifiers, and yearly volumes shaped like the published figures
(as of a fixed day; the book as of today is in test_demo_alive.py)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from api.core.db import make_engine, upgrade
from api.demo import generate, year_weights
from ipfin.validation import is_valid_credit_code, is_valid_patent_number

N = 20_000
AS_OF = date(2026, 6, 30)
WEIGHTS = year_weights(AS_OF)  # published amount × share of the year in the book (2026: half)


def _fresh(path: Path) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    engine = _fresh(tmp_path_factory.mktemp("demo") / "a.db")
    generate(engine, N, seed=11, as_of=AS_OF)
    return engine


def _digest(engine: Any) -> str:
    h = hashlib.sha256()
    with engine.connect() as c:
        for table in ("borrower", "loan", "ip_asset", "loan_collateral"):
            cols = [r[1] for r in c.execute(text(f"PRAGMA table_info({table})")) if r[1] not in ("created_at",
                                                                                              "updated_at")]
            for row in c.execute(text(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id")):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    a, b, c = _fresh(tmp_path / "a.db"), _fresh(tmp_path / "b.db"), _fresh(tmp_path / "c.db")
    generate(a, 500, seed=3, as_of=AS_OF)
    generate(b, 500, seed=3, as_of=AS_OF)
    generate(c, 500, seed=4, as_of=AS_OF)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_generating_twice_is_refused(demo: Any) -> None:
    with pytest.raises(RuntimeError, match="--reset"):
        generate(demo, 10, seed=1)


def test_identifiers_carry_valid_check_characters(demo: Any) -> None:
    with demo.connect() as c:
        codes = [r[0] for r in c.execute(text("SELECT credit_code FROM borrower"))]
        patents = [r[0] for r in c.execute(text(
            "SELECT identifier FROM ip_asset WHERE ip_type IN ('invention_patent','utility_model','design')"))]
    assert len(set(codes)) == len(codes) == round(N * 0.8)
    assert all(is_valid_credit_code(x) for x in codes)
    assert len(patents) > N // 2 and all(is_valid_patent_number(x) for x in patents)


def test_loan_counts_per_year_follow_published_amounts(demo: Any) -> None:
    with demo.connect() as c:
        counts = dict(c.execute(text(
            "SELECT CAST(strftime('%Y', origination_date) AS INTEGER), COUNT(*) FROM loan GROUP BY 1")).all())
    total_bn = sum(WEIGHTS.values())
    assert set(counts) == set(WEIGHTS)
    for year, bn in WEIGHTS.items():
        assert abs(counts[year] - N * bn / total_bn) <= 1  # largest-remainder allocation


def test_yearly_totals_follow_the_published_shape(demo: Any) -> None:
    """Each year's total ÷ published amount equals the common scale within 4 standard errors
    of a sum of that many loan amounts (amounts are i.i.d. across years)."""
    with demo.connect() as c:
        rows = c.execute(text(
            "SELECT CAST(strftime('%Y', origination_date) AS INTEGER), amount_fen FROM loan")).all()
    years = np.array([r[0] for r in rows])
    amounts = np.array([r[1] for r in rows], dtype=float)
    cv = amounts.std() / amounts.mean()
    scale = amounts.sum() / sum(WEIGHTS.values())
    for year, bn in WEIGHTS.items():
        n_y = int((years == year).sum())
        ratio = amounts[years == year].sum() / (bn * scale)
        assert abs(ratio - 1) < 4 * cv / np.sqrt(n_y), (year, ratio)
    # the 2019 → 2023 growth is visible: 2023 is several times 2019
    assert amounts[years == 2023].sum() > 3 * amounts[years == 2019].sum()


def test_inclusive_share_and_npl_share_are_realistic(demo: Any) -> None:
    with demo.connect() as c:
        inclusive = c.execute(text("SELECT AVG(amount_fen <= 1000000000) FROM loan")).scalar_one()
        live = c.execute(text("SELECT COUNT(*) FROM loan WHERE status IN "
                              "('active','overdue','default','in_claim','in_disposal')")).scalar_one()
        npl = c.execute(text("SELECT COUNT(*) FROM loan WHERE status IN ('default','in_claim','in_disposal')")
                        ).scalar_one()
        settled_outstanding = c.execute(text("SELECT MAX(outstanding_fen) FROM loan WHERE status='settled'")).scalar()
        bad = c.execute(text("SELECT COUNT(*) FROM loan WHERE outstanding_fen > amount_fen")).scalar_one()
    assert abs(inclusive - 0.72) < 0.02  # 2021: 71.8% of loans < 10M CNY
    assert 0.005 < npl / live < 0.03
    assert settled_outstanding == 0 and bad == 0


def test_loans_agree_with_their_borrowers(demo: Any) -> None:
    with demo.connect() as c:
        mismatched = c.execute(text(
            "SELECT COUNT(*) FROM loan l JOIN borrower b ON b.id = l.borrower_id "
            "WHERE l.region_code != b.region_code OR l.industry != b.industry OR l.bank_org_id != b.owner_org_id "
            "OR l.province_code != substr(b.region_code, 1, 2) || '0000' "
            "OR substr(l.city_code, 1, 2) != substr(b.region_code, 1, 2)")).scalar_one()
        no_collateral = c.execute(text(
            "SELECT COUNT(*) FROM loan WHERE id NOT IN (SELECT loan_id FROM loan_collateral)")).scalar_one()
    assert mismatched == 0 and no_collateral == 0
