"""Demo data: organisations, one user per role, and a synthetic but realistic loan book.

The book follows the published national IP pledge-financing totals (DESIGN.md §3):
loans per origination year are proportional to that year's published amount, and loan
sizes are drawn from one lognormal law (median 4M CNY, σ 1.57, so ≈72% are inclusive
loans ≤ 10M CNY, as in 2021's 71.8%), so yearly totals follow the published shape at a
scale of 1:N. Credit codes and patent numbers carry valid check characters. Everything is
drawn from one seeded generator and inserted in bulk: same seed, same data.

Assumptions (no published figure in the sources): 2024 = 2 × H1 2024 (419.9 bn); 2025 held at
the 2024 level; NPL share ≈ 1.5% of live loans; ≈ 2.5% of matured loans ended in default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from api.audit.models import AuditEvent
from api.core.security import hash_password
from api.identity.models import Organisation, User
from api.pledge.models import Borrower, IPAsset, Loan, LoanCollateral
from ipfin.reference import PREFECTURES
from ipfin.validation import ORG_CODE_ALPHABET, ORG_CODE_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

PUBLISHED_CNY_BN: dict[int, float] = {
    2019: 151.5, 2020: 218.0, 2021: 309.8, 2022: 486.9, 2023: 854.0,
    2024: 2 * 419.9,  # assumption: H1 2024 annualised
    2025: 2 * 419.9,  # assumption: flat on 2024
}
DEMO_PASSWORD = "ipfin-demo-2026"
AS_OF = date(2025, 12, 31)

ORGANISATIONS: list[tuple[str, str, str | None]] = [
    ("ipfin 平台管理", "admin", None),
    ("长江科创银行", "bank", None),
    ("珠江商业银行", "bank", None),
    ("钱塘银行", "bank", None),
    ("金陵银行", "bank", None),
    ("京华银行", "bank", None),
    ("巴渝农商银行", "bank", "500000"),
    ("渝信融资担保", "guarantor", "500000"),
    ("粤科融资担保", "guarantor", "440000"),
    ("苏创融资担保", "guarantor", "320000"),
    ("重庆再担保", "reguarantor", "500000"),
    ("国家融资担保基金", "fund", None),
    ("广州知识产权质押融资风险补偿基金", "fund", "440100"),
    ("国家知识产权局", "bureau", None),
    ("重庆市知识产权局", "bureau", "500000"),
]

# (email, organisation name, role, what the user is for)
DEMO_USERS: list[tuple[str, str, str, str]] = [
    ("admin@ipfin.demo", "ipfin 平台管理", "approver", "platform administrator"),
    ("officer@bank.ipfin.demo", "长江科创银行", "officer", "bank loan officer (maker)"),
    ("approver@bank.ipfin.demo", "长江科创银行", "approver", "bank credit approver (checker)"),
    ("officer@guarantor.ipfin.demo", "渝信融资担保", "officer", "guarantee agency claims officer"),
    ("approver@guarantor.ipfin.demo", "渝信融资担保", "approver", "guarantee agency approver"),
    ("reguarantor@ipfin.demo", "重庆再担保", "approver", "re-guarantee agency"),
    ("fund@ipfin.demo", "国家融资担保基金", "approver", "National Financing Guarantee Fund"),
    ("bureau@ipfin.demo", "国家知识产权局", "viewer", "national IP bureau (all regions)"),
    ("bureau-cq@ipfin.demo", "重庆市知识产权局", "viewer", "Chongqing IP bureau (its region only)"),
]

PROVINCE_WEIGHTS: dict[str, float] = {
    "440000": 14, "320000": 12, "330000": 13, "370000": 8, "110000": 7, "310000": 6, "500000": 5,
    "340000": 5, "420000": 4, "510000": 4, "350000": 4, "430000": 3, "410000": 3, "610000": 2,
    "130000": 2, "120000": 1.5, "360000": 1.5, "210000": 1.5, "450000": 1, "520000": 1, "530000": 1,
    "140000": 0.6, "150000": 0.4, "220000": 0.6, "230000": 0.6, "460000": 0.4, "620000": 0.4,
    "630000": 0.2, "640000": 0.2, "650000": 0.4, "540000": 0.1,
}
INDUSTRY_WEIGHTS: dict[str, float] = {
    "C": 46, "I": 18, "M": 14, "F": 5, "R": 4, "A": 3, "G": 2, "L": 2, "D": 1.5, "E": 1.5, "Q": 1, "O": 1, "N": 1,
}
IP_TYPE_WEIGHTS: dict[str, float] = {
    "invention_patent": 45, "utility_model": 30, "trademark": 15, "design": 3,
    "software_copyright": 5, "copyright": 2,
}
_PATENT_DIGIT = {"invention_patent": "1", "utility_model": "2", "design": "3"}


@dataclass
class DemoContext:
    """What the core demo generator made, for domain extensions that add to it."""

    seed: int
    rng: np.random.Generator
    as_of: date
    org_ids: dict[str, int]
    loan_ids: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)




def domain_demos() -> tuple[Any, ...]:
    """Each domain's ``extend(conn, ctx)``, run after the loans are made (imported here: they import DemoContext)."""
    from api.pledge import demo as pledge_demo
    from api.risk_sharing import demo as risk_sharing_demo
    from api.securitization import demo as securitization_demo
    from api.valuation import demo as valuation_demo

    return (valuation_demo, pledge_demo, risk_sharing_demo, securitization_demo)


def _p(weights: dict[str, float]) -> tuple[list[str], np.ndarray]:
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    return keys, w / w.sum()


def _allocate(n: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder integer split of n by weights."""
    exact = n * weights / weights.sum()
    base = np.floor(exact).astype(np.int64)
    left = n - int(base.sum())
    base[np.argsort(-(exact - base), kind="stable")[:left]] += 1
    return base


# --------------------------------------------------------------- vectorised identifiers


def credit_codes(region: np.ndarray, serial: np.ndarray) -> list[str]:
    """Valid unified social credit codes (GB 32100-2015), unique for unique ``serial``.

    '9' (market regulator) '1' (enterprise), 6-digit region, an 8-character organisation
    body from base-31 of a bijective scramble of ``serial``, the GB 11714 check, the USCC check.
    """
    n = len(serial)
    alphabet = np.array(list(USCC_ALPHABET))
    body_val = (serial.astype(np.int64) * 9_999_991 + 123_457) % (31**8)
    digits = np.empty((n, 8), dtype=np.int64)
    x = body_val.copy()
    for k in range(7, -1, -1):
        digits[:, k] = x % 31
        x //= 31
    body_chars = alphabet[digits]  # characters of the organisation body
    org_vals = np.vectorize(ORG_CODE_ALPHABET.index)(body_chars) if n else np.empty((0, 8), dtype=np.int64)
    c = 11 - (org_vals * np.array(ORG_CODE_WEIGHTS)).sum(axis=1) % 11
    org_check = np.where(c == 10, "X", np.where(c == 11, "0", c.astype(str)))
    region_chars = np.array([list(r) for r in region]) if n else np.empty((0, 6), dtype="<U1")
    first = np.column_stack([np.full(n, "9"), np.full(n, "1"), region_chars, body_chars, org_check])
    value = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
    vals = np.vectorize(value.__getitem__)(first) if n else np.empty((0, 17), dtype=np.int64)
    check = (31 - (vals * np.array(USCC_WEIGHTS)).sum(axis=1) % 31) % 31
    return ["".join(row) + USCC_ALPHABET[k] for row, k in zip(first.tolist(), check.tolist(), strict=True)]


def patent_numbers(years: np.ndarray, type_digits: np.ndarray, serial: np.ndarray) -> list[str]:
    """Valid CN application numbers ``CN{yyyy}{t}{7 digits}.{check}``, unique for unique serials."""
    s7 = (serial.astype(np.int64) * 7919 + 1_000_003) % 10_000_000
    bodies = np.char.add(np.char.add(years.astype(str), type_digits.astype(str)), np.char.zfill(s7.astype(str), 7))
    digits = np.array([list(b) for b in bodies.tolist()], dtype=np.int64) if len(bodies) else np.empty((0, 12))
    weights = np.array([2 + i % 8 for i in range(12)])
    r = (digits * weights).sum(axis=1) % 11
    checks = np.where(r == 10, "X", r.astype(str))
    return [f"CN{b}.{c}" for b, c in zip(bodies.tolist(), checks.tolist(), strict=True)]


# --------------------------------------------------------------- organisations and users


def seed_organisations_and_users(conn: Connection) -> dict[str, int]:
    """Create the demo organisations and one user per role (idempotent)."""
    existing: dict[str, int] = {
        name: oid for oid, name in conn.execute(select(Organisation.__table__.c.id, Organisation.__table__.c.name))  # type: ignore[attr-defined]
    }
    for name, kind, region in ORGANISATIONS:
        if name not in existing:
            existing[name] = conn.execute(
                insert(Organisation).values(name=name, kind=kind, region_code=region, created_at=_now())
            ).inserted_primary_key[0]  # type: ignore[index]
    users = {e for (e,) in conn.execute(select(col(User.email)))}
    pw = hash_password(DEMO_PASSWORD)
    for email, org_name, role, note in DEMO_USERS:
        if email not in users:
            conn.execute(
                insert(User).values(
                    email=email, full_name=note, role=role, is_active=True, hashed_password=pw,
                    organisation_id=existing[org_name], created_at=_now(),
                )
            )
    return existing


def _now() -> Any:
    from api.core.db import utcnow

    return utcnow()


# --------------------------------------------------------------- the loan book


def generate(
    engine: Engine,
    n_loans: int = 20_000,
    seed: int = 20190101,
    *,
    as_of: date = AS_OF,
    batch: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seed organisations, users and ``n_loans`` demo loans in bulk; returns counts and timing."""
    if n_loans < 0:
        raise ValueError("n_loans must not be negative")
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(Loan)).scalar_one() > 0:
            raise RuntimeError("the database already has loans; use `ipfin demo-data --reset` to start over")
        org_ids = seed_organisations_and_users(conn)
        kinds = {name: kind for name, kind, _ in ORGANISATIONS}
        banks = np.array([org_ids[n] for n, k in kinds.items() if k == "bank"])
        guarantors = np.array([org_ids[n] for n, k in kinds.items() if k == "guarantor"])

        # ---- loans per year, month and day
        years = np.array(sorted(PUBLISHED_CNY_BN))
        per_year = _allocate(n_loans, np.array([PUBLISHED_CNY_BN[y] for y in years]))
        year = np.repeat(years, per_year)
        month = rng.integers(1, 13, n_loans)
        day = rng.integers(1, 29, n_loans)
        orig = (
            (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1).astype("timedelta64[M]")
        ).astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
        term = rng.choice(np.array([12, 24, 36]), n_loans, p=[0.6, 0.25, 0.15])
        maturity = (orig.astype("datetime64[M]") + term.astype("timedelta64[M]")).astype("datetime64[D]") + (
            day - 1
        ).astype("timedelta64[D]")

        # ---- amounts: lognormal, median 4M CNY, rounded to 10,000 CNY, in fen
        amount_cny = np.exp(np.log(4_000_000) + 1.57 * rng.standard_normal(n_loans))
        amount_cny = np.clip(np.round(amount_cny / 10_000) * 10_000, 100_000, 300_000_000)
        amount_fen = amount_cny.astype(np.int64) * 100

        # ---- borrowers: ~0.8 per loan; a borrower keeps one bank, region and industry
        n_borrowers = max(1, round(n_loans * 0.8)) if n_loans else 0
        prov_keys, prov_p = _p(PROVINCE_WEIGHTS)
        pref_by_prov: dict[str, list[str]] = {}
        for code in PREFECTURES:
            pref_by_prov.setdefault(code[:2] + "0000", []).append(code)
        b_prov = np.array(prov_keys)[rng.choice(len(prov_keys), n_borrowers, p=prov_p)] if n_borrowers else np.array([])
        b_region = np.array([pref_by_prov[p][0] if len(pref_by_prov[p]) == 1 else "" for p in b_prov], dtype="<U6")
        for p_code, prefs in pref_by_prov.items():
            mask = b_prov == p_code
            if len(prefs) > 1 and mask.any():
                w = np.array([3.0] + [1.0] * (len(prefs) - 1))
                b_region[mask] = np.array(prefs)[rng.choice(len(prefs), int(mask.sum()), p=w / w.sum())]
        ind_keys, ind_p = _p(INDUSTRY_WEIGHTS)
        b_ind = np.array(ind_keys)[rng.choice(len(ind_keys), n_borrowers, p=ind_p)]
        b_bank = banks[rng.integers(0, len(banks), n_borrowers)]
        b_size = rng.choice(np.array(["micro", "small", "medium", "large"]), n_borrowers, p=[0.3, 0.45, 0.2, 0.05])
        b_years = rng.integers(1, 25, n_borrowers)
        b_codes = credit_codes(b_region, np.arange(n_borrowers) + seed % 1000 * 1_000_003)
        loan_borrower = np.concatenate(
            [np.arange(n_borrowers), rng.integers(0, n_borrowers, n_loans - n_borrowers)]
        )[rng.permutation(n_loans)] if n_loans else np.array([], dtype=np.int64)

        # ---- loan terms
        guaranteed = rng.random(n_loans) < 0.4
        guarantor = np.where(guaranteed, guarantors[rng.integers(0, len(guarantors), n_loans)], 0)
        fee_bp = rng.choice(np.array([80, 100, 120, 150, 180, 200]), n_loans, p=[0.15, 0.3, 0.2, 0.2, 0.1, 0.05])
        rate_bp = np.clip(np.round(365 + 60 * rng.standard_normal(n_loans)), 250, 800).astype(np.int64)
        it_keys, it_p = _p(IP_TYPE_WEIGHTS)
        primary = np.array(it_keys)[rng.choice(len(it_keys), n_loans, p=it_p)]
        n_assets = rng.choice(np.array([1, 2, 3]), n_loans, p=[0.6, 0.3, 0.1])

        # ---- status at as_of
        as_of64 = np.datetime64(as_of)
        matured = maturity <= as_of64
        started = orig <= as_of64
        u = rng.random(n_loans)
        status = np.full(n_loans, "active", dtype="<U16")
        dpd = np.zeros(n_loans, dtype=np.int64)
        status[matured] = "settled"
        bad_matured = matured & (u < 0.025)
        endings = np.array(["in_claim", "in_disposal", "recovered", "written_off", "closed"])
        status[bad_matured] = endings[rng.choice(5, int(bad_matured.sum()), p=[0.15, 0.15, 0.3, 0.2, 0.2])]
        live = ~matured & started
        overdue = live & (u < 0.03)
        npl = live & (u < 0.015)
        status[overdue] = "overdue"
        dpd[overdue] = rng.integers(1, 91, int(overdue.sum()))
        status[npl] = "default"
        dpd[npl] = rng.integers(91, 400, int(npl.sum()))
        elapsed = np.clip((as_of64 - orig).astype(np.int64) / 30.4375, 0, None)
        remaining = np.clip(1 - elapsed / term, 0, 1)
        outstanding = np.where(status == "settled", 0, np.round(amount_fen * remaining / 1e6) * 1e6).astype(np.int64)
        outstanding = np.where(np.isin(status, endings), (amount_fen * rng.uniform(0.3, 0.9, n_loans)).astype(np.int64),
                               outstanding)
        outstanding = np.minimum(outstanding, amount_fen)
        default_date = np.where(
            np.isin(status, np.append(endings, "default")),
            np.minimum(orig + (term * 30 * rng.uniform(0.3, 0.9, n_loans)).astype("timedelta64[D]"), as_of64),
            np.datetime64("NaT"),
        )

        # ---- insert borrowers
        say(f"borrowers: {n_borrowers}")
        first_id = _next_id(conn, Borrower)
        reg_dates = (np.datetime64(as_of) - (b_years * 365).astype("timedelta64[D]")).astype(object)
        now = _now()
        rows = [
            {"id": first_id + i, "name": f"演示科技企业{i + 1:07d}", "credit_code": code, "region_code": r,
             "industry": ind, "size_class": sz, "registered_on": rd, "owner_org_id": int(bk), "created_at": now}
            for i, (code, r, ind, sz, rd, bk) in enumerate(
                zip(b_codes, b_region.tolist(), b_ind.tolist(), b_size.tolist(), reg_dates.tolist(),
                    b_bank.tolist(), strict=True))
        ]
        _bulk(conn, Borrower, rows, batch)
        borrower_ids = first_id + np.arange(n_borrowers)

        # ---- insert loans
        say(f"loans: {n_loans}")
        first_loan = _next_id(conn, Loan)
        lb = loan_borrower
        l_region = b_region[lb] if n_loans else b_region
        rows = []
        orig_o, mat_o, dd_o = orig.astype(object).tolist(), maturity.astype(object).tolist(), default_date.astype(
            object).tolist()
        for i in range(n_loans):
            g = int(guarantor[i])
            reg = l_region[i]
            rows.append({
                "id": first_loan + i, "reference": f"D{seed % 100000:05d}{i:08d}",
                "bank_org_id": int(b_bank[lb[i]]), "borrower_id": int(borrower_ids[lb[i]]),
                "guarantor_org_id": g or None, "origination_date": orig_o[i], "maturity_date": mat_o[i],
                "purpose": "working capital", "amount_fen": int(amount_fen[i]), "outstanding_fen": int(outstanding[i]),
                "currency": "CNY", "annual_rate": Decimal(int(rate_bp[i])) / 10000,
                "guarantee_fee_rate": Decimal(int(fee_bp[i])) / 10000 if g else None,
                "term_months": int(term[i]), "status": status[i], "region_code": reg,
                "province_code": reg[:2] + "0000", "industry": b_ind[lb[i]], "primary_ip_type": primary[i],
                "ip_types": primary[i], "days_past_due": int(dpd[i]), "default_date": dd_o[i],
                "version": 1, "created_at": now, "updated_at": now,
            })
            if len(rows) >= batch:
                _bulk(conn, Loan, rows, batch)
                rows = []
        _bulk(conn, Loan, rows, batch)
        loan_ids = first_loan + np.arange(n_loans)

        # ---- IP assets and collateral links
        n_ip = int(n_assets.sum())
        say(f"IP assets: {n_ip}")
        asset_loan = np.repeat(np.arange(n_loans), n_assets)
        a_type = primary[asset_loan].copy()
        extra = np.ones(n_ip, dtype=bool)
        if n_ip:
            extra[np.r_[0, np.cumsum(n_assets)[:-1]]] = False  # first asset of each loan is its primary type
            a_type[extra] = np.array(it_keys)[rng.choice(len(it_keys), int(extra.sum()), p=it_p)]
        filing_year = np.clip(year[asset_loan] - rng.integers(1, 8, n_ip), 2004, None)
        filing = ((filing_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
                  + rng.integers(0, 360, n_ip).astype("timedelta64[D]"))
        grant = filing + rng.integers(180, 900, n_ip).astype("timedelta64[D]")
        grant = np.minimum(grant, orig[asset_loan] - np.timedelta64(1, "D"))
        grant = np.maximum(grant, filing)
        serial = np.arange(n_ip) + seed % 997 * 10_007
        is_patent = np.isin(a_type, list(_PATENT_DIGIT))
        ident = np.empty(n_ip, dtype=object)
        if is_patent.any():
            tdig = np.vectorize(_PATENT_DIGIT.__getitem__)(a_type[is_patent])
            ident[is_patent] = patent_numbers(filing_year[is_patent], tdig, serial[is_patent])
        for kind, fmt in (("trademark", "TM{:08d}"), ("copyright", "国作登字-{y}-F-{:08d}"),
                          ("software_copyright", "{y}SR{:07d}")):
            m = a_type == kind
            ident[m] = [fmt.format(int(s) % 10**7, y=int(y)) for s, y in zip(serial[m], filing_year[m], strict=True)]
        first_asset = _next_id(conn, IPAsset)
        fil_o, gr_o = filing.astype(object).tolist(), grant.astype(object).tolist()
        fee_until = (orig[asset_loan] + np.timedelta64(365, "D")).astype(object).tolist()
        rows = [
            {"id": first_asset + j, "ip_type": a_type[j], "identifier": ident[j],
             "title": f"演示{_TITLE[a_type[j]]} {j + 1}", "filing_date": fil_o[j], "grant_date": gr_o[j],
             "legal_status": "granted", "annual_fee_paid_until": fee_until[j],
             "borrower_id": int(borrower_ids[lb[asset_loan[j]]]), "owner_org_id": int(b_bank[lb[asset_loan[j]]]),
             "created_at": now}
            for j in range(n_ip)
        ]
        _bulk(conn, IPAsset, rows, batch)
        pledge_rate = rng.uniform(0.3, 0.6, n_loans)
        value_fen = (amount_fen / pledge_rate / n_assets)[asset_loan].astype(np.int64)
        reg_on = (orig[asset_loan] - rng.integers(3, 15, n_ip).astype("timedelta64[D]")).astype(object).tolist()
        settled_like = np.isin(status, ["settled", "closed"])[asset_loan]
        rows = [
            {"id": first_asset + j, "loan_id": int(loan_ids[asset_loan[j]]), "ip_asset_id": first_asset + j,
             "appraised_value_fen": int(value_fen[j]), "pledge_registration_no": f"Y{first_asset + j:012d}",
             "pledge_registered_on": reg_on[j], "pledge_status": "released" if settled_like[j] else "registered"}
            for j in range(n_ip)
        ]
        _bulk(conn, LoanCollateral, rows, batch)
        # multi-asset loans list all their IP types
        if n_ip and (n_assets > 1).any():
            types_per_loan: dict[int, set[str]] = {}
            for li, t in zip(asset_loan.tolist(), a_type.tolist(), strict=True):
                types_per_loan.setdefault(li, set()).add(t)
            multi = [(int(loan_ids[i]), ",".join(sorted(ts))) for i, ts in types_per_loan.items() if len(ts) > 1]
            from sqlalchemy import bindparam, update

            stmt = update(Loan.__table__).where(Loan.__table__.c.id == bindparam("lid")).values(  # type: ignore[attr-defined]
                ip_types=bindparam("types"))
            for k in range(0, len(multi), batch):
                conn.execute(stmt, [{"lid": a, "types": b} for a, b in multi[k:k + batch]])

        ctx = DemoContext(seed=seed, rng=rng, as_of=as_of, org_ids=org_ids, loan_ids=loan_ids,
                          counts={"borrowers": n_borrowers, "loans": n_loans, "ip_assets": n_ip})
        for domain_demo in domain_demos():
            ctx.counts.update(domain_demo.extend(conn, ctx))
        conn.execute(insert(AuditEvent).values(
            at=_now(), entity="demo_data", entity_id=str(seed), action="generate",
            after={"seed": seed, "as_of": as_of.isoformat(), **ctx.counts},
        ))
    reset_sequences(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # planner statistics for the dashboard's aggregate queries
    seconds = time.perf_counter() - t0
    return {"seed": seed, "seconds": round(seconds, 2), **ctx.counts}


_TITLE = {"invention_patent": "发明专利", "utility_model": "实用新型", "design": "外观设计", "trademark": "商标",
          "copyright": "作品", "software_copyright": "软件"}


def _next_id(conn: Connection, model: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1


def _bulk(conn: Connection, model: Any, rows: list[dict[str, Any]], batch: int) -> None:
    """Insert ``rows`` through the DBAPI's executemany with values already in database form.

    Each column's bind processor (date → text on SQLite, Decimal → float, …) is applied once per
    distinct value, not once per row, which makes this several times faster than a Core insert.
    """
    if not rows:
        return
    table = model.__table__
    cols = [c for c in table.columns if c.key in rows[0]]
    columns = []
    for c in cols:
        values = [r[c.key] for r in rows]
        proc = c.type.bind_processor(conn.dialect)
        if proc is not None:
            cache: dict[Any, Any] = {}
            values = [cache[v] if v in cache else cache.setdefault(v, proc(v)) for v in values]
        columns.append(values)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) VALUES ({', '.join([mark] * len(cols))})"
    data = list(zip(*columns, strict=True))
    for k in range(0, len(data), batch):
        conn.exec_driver_sql(sql, data[k : k + batch])  # type: ignore[arg-type]


def reset_sequences(engine: Engine) -> None:
    """After inserts with explicit ids, move PostgreSQL sequences past the largest id."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for model in (Borrower, Loan, IPAsset, LoanCollateral):
            t = model.__tablename__
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 1))"
            )
