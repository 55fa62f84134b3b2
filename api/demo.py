"""Demo data: organisations, one user per role, and a synthetic but realistic loan book that is
alive on any day. Long because it is one generator whose parts (calendar, regions, amounts,
hazard, fee status, bulk insert) must draw from the same block streams to stay reproducible.

**As of today.** The book runs from 2019 to ``as_of`` (default: today), so its last month is
the current month and the dashboard's default period (this year to today) has data.

**Calibration** (DESIGN.md §3). Loans per origination year are proportional to that year's
published national amount times the share of the year covered (the current year up to
``as_of``); loan sizes follow one lognormal law (median 4M CNY, σ 1.57: ≈72% inclusive loans
≤ 10M CNY, as in 2021's 71.8%; capped at 100M CNY, assumption), so yearly totals follow the
published shape at a scale of 1:N.
Provinces get these shares of the amount: Zhejiang 20.1% (H1 2022: > 48.9 bn of 243.5 bn, half
of 2022's 486.9 bn), Jiangsu 5.6% (H1 2022: 13.72 bn); within Guangdong, Guangzhou 3.5% of the
nation (2019: 5.414 of 151.5 bn; Q1-Q3 2020: 5.67 of 163.5 bn); within Shandong, Qingdao 0.7%
(H1 2022: 1.698 bn); Chongqing 3% (assumption: the seeds give its scheme, not its volume).
Other provinces share the rest by the weights in :data:`PROVINCE_WEIGHTS` (assumption); inside
a province, borrowers spread over every city and county of ``ipfin.regions`` (GB/T 2260), main
cities and urban districts weighted up.

**Defaults** come from a known hazard model (:data:`DEMO_HAZARD`: ``pledge.early_warning``'s
``TrueHazardModel.default()`` with its intercept lowered to :data:`DEMO_INTERCEPT` so the mean
12-month PD is ≈ 1.6%) over the loan's features at origination (LTV, valuation spread and age,
industry, province, size, IP type); the time to default is exponential with the model's
hazard (drawn by systematic sampling, :func:`book_default_days`), and the loan's status at
``as_of`` follows from the time since (default → in claim / in disposal → recovered, written off
or closed). The NPL ratio (stock) is ≈ 1.8% (a 20,000-loan book: ± 0.3 points from day to day,
the lumpiness of a few large loans).

**Fee and legal status** (assumption; CNIPA publishes no pledged-patent lapse rate): annual fees
are due on the filing-date anniversary; a patent is paid up to the end of its current patent
year, except that within the 6-month grace period after an anniversary 3% have not paid yet
(≈ 1.5% of patents flagged "fee unpaid"), and 0.3% lapsed for unpaid fees. Patents past their
statutory term (invention 20 years, utility model 10, design 10/15) are expired.

**Streaming.** Loans are drawn in fixed blocks of :data:`BLOCK` loans, each from its own
generator ``(seed, block)``, and inserted block by block with the DBAPI's executemany: memory
stays flat, and the data depend only on ``seed``, ``n_loans`` and ``as_of`` (not on ``batch``).
On SQLite the load runs with a rollback journal, no fsync and no per-row foreign-key look-ups, the bulk
tables' secondary indexes built once at the end (:func:`_bulk_load`, :func:`_indexes_built_after`); the
file ends in WAL as ``api.core.db.make_engine`` sets it. Nothing is read back: a domain with an
``on_block`` hook (pledge monitoring, the transaction register's book) gets each block in memory, and
the statistics rollups are summed from the same blocks (``api.stats.demo``, the same rows as
``rollup.rebuild``; in a child process for large books, :func:`summed_rollups`) with their triggers dropped
for the load.
"""

from __future__ import annotations

import math
import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Date, create_engine, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from api.audit.models import AuditEvent
from api.core.security import hash_password
from api.identity.models import Organisation, User
from api.pledge.models import Borrower, CollateralValuation, IPAsset, Loan, LoanCollateral
from api.stats import rollup
from api.stats.models import LoanRollup, RegistrationRollup
from ipfin import regions
from ipfin.reference import DEMO_PREFECTURE_CODES
from ipfin.validation import ORG_CODE_ALPHABET, ORG_CODE_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS
from pledge.early_warning import FeatureMatrix, TrueHazardModel, build_features

PUBLISHED_CNY_BN: dict[int, float] = {
    2019: 151.5, 2020: 218.0, 2021: 309.8, 2022: 486.9, 2023: 854.0,
    2024: 2 * 419.9,  # assumption: H1 2024 annualised
}
FIRST_YEAR = 2019
DEMO_PASSWORD = "ipfin-demo-2026"
BLOCK = 5_000
"""Loans per random block (a multiple of 5, so each block's borrowers are exactly 0.8 × its loans)."""
BORROWERS_PER_LOAN = 0.8
MAX_LOAN_CNY = 100_000_000
TERMS_MONTHS = (12, 24, 36)
"""Loan terms (months): 60%, 25% and 15% of the loans."""

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

SEED_PROVINCE_SHARES: dict[str, float] = {
    "330000": 48.9 / (486.9 / 2),  # Zhejiang, H1 2022
    "320000": 13.72 / (486.9 / 2),  # Jiangsu, H1 2022
    "440000": 0.12,  # Guangdong: assumption around Guangzhou's published 3.5%
    "370000": 0.05,  # Shandong: assumption around Qingdao's published 0.7%
    "500000": 0.03,  # Chongqing: assumption
}
"""Share of the national amount per province, from the seeds (see the module docstring)."""
SEED_CITY_SHARES: dict[str, float] = {
    "440100": (5.414 / 151.5 + 5.67 / (218.0 * 0.75)) / 2,  # Guangzhou 2019 and Q1-Q3 2020
    "370200": 1.698 / (486.9 / 2),  # Qingdao, H1 2022
}
"""Share of the national amount per city, from the seeds."""
PROVINCE_WEIGHTS: dict[str, float] = {
    "110000": 7, "310000": 6, "340000": 5, "420000": 4, "510000": 4, "350000": 4, "430000": 3, "410000": 3,
    "610000": 2, "130000": 2, "120000": 1.5, "360000": 1.5, "210000": 1.5, "450000": 1, "520000": 1, "530000": 1,
    "140000": 0.6, "150000": 0.4, "220000": 0.6, "230000": 0.6, "460000": 0.4, "620000": 0.4,
    "630000": 0.2, "640000": 0.2, "650000": 0.4, "540000": 0.1,
}
"""Relative weights of the other provinces (assumption), sharing what the seeded ones leave."""
INDUSTRY_WEIGHTS: dict[str, float] = {
    "C": 46, "I": 18, "M": 14, "F": 5, "R": 4, "A": 3, "G": 2, "L": 2, "D": 1.5, "E": 1.5, "Q": 1, "O": 1, "N": 1,
}
IP_TYPE_WEIGHTS: dict[str, float] = {
    "invention_patent": 45, "utility_model": 30, "trademark": 15, "design": 3,
    "software_copyright": 5, "copyright": 2,
}
_PATENT_DIGIT = {"invention_patent": 1, "utility_model": 2, "design": 3}
_PATENT_YEARS = {"invention_patent": 20, "utility_model": 10, "design": 10}  # design: 15 if filed from 2021-06-01

DEMO_INTERCEPT = -5.3
DEMO_HAZARD: TrueHazardModel = replace(TrueHazardModel.default(), intercept=DEMO_INTERCEPT)
"""The truth the demo book's defaults are drawn from (compare a fitted early-warning model with it)."""
FEE_LATE_IN_GRACE = 0.03
"""Share of patents within 6 months after a fee anniversary that have not paid yet (assumption)."""
LAPSED_SHARE = 0.003
"""Share of patents lapsed for unpaid fees (assumption)."""
LATE_PAYER_SHARE = 0.012
"""Share of performing live loans 1–30 days late that will cure (关注, assumption)."""
NPL_WINDOW_DAYS = 365
"""A defaulted loan stays non-performing (default, in claim, in disposal) this many days, then ends."""
MIN_DAYS_TO_DEFAULT = 120
"""A loan cannot be 90 days past due (non-performing) before its first missed payments: 4 months at least."""


@dataclass
class DemoContext:
    """What the core demo generator made, for domain extensions that add to it.

    ``rng`` is a generator of its own (``(seed, 1)``) so extensions draw the same numbers
    whatever the batch size; ``batch`` is the insert size extensions should stream with. A domain
    may also have ``on_block(conn, ctx, k, block)``, called with each core block (``make_block``'s
    columns) right after it is loaded — its counts are added up — so it need not read the book back.
    """

    seed: int
    rng: np.random.Generator
    as_of: date
    org_ids: dict[str, int]
    loan_ids: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    batch: int = 20_000
    next_valuation_id: int = 1
    """First id of ``pledge_collateral_valuation`` after the core load's appraisals (re-valuations go on from it)."""
    state: dict[str, Any] = field(default_factory=dict)
    """What a domain's ``on_block`` keeps for its ``extend`` (compact: the blocks themselves are not kept)."""


def domain_demos() -> tuple[Any, ...]:
    """Each domain's ``extend(conn, ctx)``, run after the loans are made (imported here: they import DemoContext)."""
    from api.pledge import demo as pledge_demo
    from api.risk_sharing import demo as risk_sharing_demo
    from api.securitization import demo as securitization_demo
    from api.transactions import demo as transactions_demo
    from api.valuation import demo as valuation_demo

    return (valuation_demo, pledge_demo, risk_sharing_demo, securitization_demo, transactions_demo)


def _p(weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys), w / w.sum()


def _allocate(n: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder integer split of n by weights."""
    exact = n * weights / weights.sum()
    base = np.floor(exact).astype(np.int64)
    left = n - int(base.sum())
    base[np.argsort(-(exact - base), kind="stable")[:left]] += 1
    return base


# --------------------------------------------------------------- calendar and volumes


def annual_cny_bn(year: int) -> float:
    """Published national amount of a year; after the last published year, held at its level (assumption)."""
    return PUBLISHED_CNY_BN.get(year, PUBLISHED_CNY_BN[max(PUBLISHED_CNY_BN)])


def year_weights(as_of: date) -> dict[int, float]:
    """Each origination year's expected amount in the book: published amount × share of the year covered."""
    if as_of < date(FIRST_YEAR, 1, 1):
        raise ValueError(f"as_of: the demo book starts in {FIRST_YEAR}")
    out: dict[int, float] = {}
    for y in range(FIRST_YEAR, as_of.year + 1):
        days = (date(y + 1, 1, 1) - date(y, 1, 1)).days
        covered = days if y < as_of.year else (as_of - date(y, 1, 1)).days + 1
        out[y] = annual_cny_bn(y) * covered / days
    return out


def _add_months(d: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Dates plus whole months, the day clipped to the target month's length (datetime64[D])."""
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = m + months.astype("timedelta64[M]")
    dim = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(dom, dim - 1).astype("timedelta64[D]")


@cache
def _lpr_table() -> tuple[np.ndarray, np.ndarray]:
    from pledge.lpr import default_fixings

    fx = [f for f in default_fixings() if getattr(f, "tenor", "1Y") == "1Y"]
    return (np.array([f.effective_date for f in fx], dtype="datetime64[D]"),
            np.array([float(f.rate) for f in fx]))


def _lpr_1y(on: np.ndarray) -> np.ndarray:
    """The 1-year LPR in force on each date (4.35% benchmark rate before the reformed LPR)."""
    dates, rates = _lpr_table()
    i = np.searchsorted(dates, on, side="right") - 1
    return np.where(i >= 0, rates[np.clip(i, 0, None)], 0.0435)


# --------------------------------------------------------------- regions


@dataclass(frozen=True)
class RegionTable:
    """Every mainland county-level region (or city without counties) with its city, province and weight."""

    county: np.ndarray
    city: np.ndarray
    province: np.ndarray
    p: np.ndarray


def province_shares() -> dict[str, float]:
    """Target share of the national amount per province: seeds first, the rest by :data:`PROVINCE_WEIGHTS`."""
    rest = 1.0 - sum(SEED_PROVINCE_SHARES.values())
    total_w = sum(PROVINCE_WEIGHTS.values())
    return {**SEED_PROVINCE_SHARES, **{k: rest * w / total_w for k, w in PROVINCE_WEIGHTS.items()}}


@cache
def region_table() -> RegionTable:
    """Counties weighted so provinces and seeded cities get their target shares (see the module docstring)."""
    main = set(DEMO_PREFECTURE_CODES)
    rows: list[tuple[str, str, str, float]] = []
    c: regions.Region | str  # a region, then a city code
    for prov, share in province_shares().items():
        cities: list[tuple[str, float, list[tuple[str, float]]]] = []
        for c in regions.children(prov):
            kids = regions.children(c.code) if c.level == "city" else ()
            leaves = [(k.code, 3.0 if k.kind == "市辖区" else 1.0) for k in kids] or [(c.code, 1.0)]
            cities.append((c.code, 8.0 if c.code in main else 1.0, leaves))
        fixed = {c: SEED_CITY_SHARES[c] for c, _, _ in cities if c in SEED_CITY_SHARES}
        free_w = sum(w for c, w, _ in cities if c not in fixed)
        for c, w, leaves in cities:
            city_share = fixed[c] if c in fixed else (share - sum(fixed.values())) * w / free_w
            lw = sum(x for _, x in leaves)
            rows.extend((code, regions.city_of(code) or c, prov, city_share * x / lw) for code, x in leaves)
    p = np.array([r[3] for r in rows])
    return RegionTable(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                       np.array([r[2] for r in rows]), p / p.sum())


# --------------------------------------------------------------- vectorised identifiers


def credit_codes(region: np.ndarray, serial: np.ndarray) -> list[str]:
    """Valid unified social credit codes (GB 32100-2015), unique for unique ``serial``.

    '9' (market regulator) '1' (enterprise), 6-digit region, an 8-character organisation
    body from base-31 of a bijective scramble of ``serial``, the GB 11714 check, the USCC check.
    """
    n = len(serial)
    if n == 0:
        return []
    uscc_val = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
    alphabet = np.array(list(USCC_ALPHABET))
    org_value_of_uscc = np.array([ORG_CODE_ALPHABET.index(ch) for ch in USCC_ALPHABET])
    body = (serial.astype(np.int64) * 9_999_991 + 123_457) % (31**8)
    digits = np.empty((n, 8), dtype=np.int64)
    x = body.copy()
    for k in range(7, -1, -1):
        digits[:, k] = x % 31
        x //= 31
    c = 11 - (org_value_of_uscc[digits] * np.array(ORG_CODE_WEIGHTS)).sum(axis=1) % 11
    org_check_val = np.where(c == 10, uscc_val["X"], np.where(c == 11, 0, c))
    org_check_chr = np.where(c == 10, "X", np.where(c == 11, "0", c.astype(str)))
    reg_digits = np.frombuffer("".join(region.tolist()).encode(), dtype=np.uint8).reshape(n, 6) - ord("0")
    vals = np.column_stack([np.full(n, 9), np.full(n, 1), reg_digits, digits, org_check_val])
    check = (31 - (vals * np.array(USCC_WEIGHTS)).sum(axis=1) % 31) % 31
    bodies = ["".join(r) for r in alphabet[digits].tolist()]
    return [f"91{r}{b}{o}{USCC_ALPHABET[k]}" for r, b, o, k in
            zip(region.tolist(), bodies, org_check_chr.tolist(), check.tolist(), strict=True)]


def patent_numbers(years: np.ndarray, type_digits: np.ndarray, serial: np.ndarray) -> list[str]:
    """Valid CN application numbers ``CN{yyyy}{t}{7 digits}.{check}``, unique for unique serials."""
    if len(serial) == 0:
        return []
    s7 = (serial.astype(np.int64) * 7919 + 1_000_003) % 10_000_000
    body = years.astype(np.int64) * 10**8 + type_digits.astype(np.int64) * 10**7 + s7
    digits = (body[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    r = (digits * np.array([2 + i % 8 for i in range(12)])).sum(axis=1) % 11
    checks = np.where(r == 10, "X", r.astype(str))
    return [f"CN{b}.{c}" for b, c in zip(body.tolist(), checks.tolist(), strict=True)]


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


# --------------------------------------------------------------- the hazard model seam


def hazard_per_year(features: FeatureMatrix, model: TrueHazardModel = DEMO_HAZARD) -> np.ndarray:
    """Constant yearly default hazard −ln(1 − PD₁₂) of ``model`` for each row of ``features``."""
    return -np.log1p(-np.clip(model.pd_12m(features), 1e-12, 1 - 1e-12))


def draw_default_years(features: FeatureMatrix, rng: np.random.Generator,
                       model: TrueHazardModel = DEMO_HAZARD) -> np.ndarray:
    """Years from the feature date to default: exponential with the hazard of ``model`` (i.i.d.)."""
    return -np.log(1.0 - rng.random(features.n)) / hazard_per_year(features, model)


def draw_defaults(features: FeatureMatrix, seed: int, model: TrueHazardModel = DEMO_HAZARD) -> np.ndarray:
    """Default within 12 months of the feature date (bool per row), drawn from the true hazard model."""
    return draw_default_years(features, np.random.default_rng(seed), model) < 1.0


def book_default_days(hazard: np.ndarray, window_end: np.ndarray, weight: np.ndarray, live: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Days from origination to default, exponential with ``hazard`` (per year) for every loan, drawn by
    systematic sampling so a small book's NPL ratio is stable.

    Whether a live loan defaults inside its NPL window (the year ending ``window_end`` days after
    origination; probability P from the hazard) is decided by systematic sampling down the live
    loans sorted by ``weight`` (≈ outstanding): loan i is in when ⌊C_i + s⌋ > ⌊C_(i−1) + s⌋, C the
    cumulated P, s ~ U(0, 1). Each loan is in with probability exactly P, and the count and
    outstanding of the defaulted follow the model closely instead of by luck. The survival
    uniform U = e^(−h·τ) is then drawn uniformly inside (or outside) the window, so every loan's
    default time is exactly exponential with its hazard.
    """
    n = len(weight)
    end = window_end / 365.25
    p_in = np.exp(-hazard * np.maximum(end - 1.0, 0.0)) - np.exp(-hazard * end)
    inside = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(live)
    idx = idx[np.argsort(-weight[idx], kind="stable")]
    cum = rng.random() + np.concatenate([[0.0], np.cumsum(p_in[idx])])
    inside[idx] = np.floor(cum[1:]) > np.floor(cum[:-1])
    w = rng.random(n)
    draw = ~live  # loans not live today: an i.i.d. default time
    v = np.where(draw, w, np.where(inside, p_in * w, p_in + (1 - p_in) * w))  # V < P ⇔ inside the window
    u = np.modf(v + np.exp(-hazard * end))[0]  # V = 0 ↦ U at the window's end
    years = -np.log(np.maximum(u, 1e-300)) / hazard
    return np.round(years * 365.25).astype(np.int64)


def appraisal_lag_days(asset_ids: np.ndarray) -> np.ndarray:
    """Days between an asset's appraisal and its pledge registration (5–59, fixed by the asset id)."""
    return 5 + (asset_ids.astype(np.int64) * 7919 + 13) % 55


# --------------------------------------------------------------- one block of the book


@dataclass(frozen=True)
class Plan:
    """What every block needs to know about the whole book."""

    n_loans: int
    seed: int
    as_of: date
    years: np.ndarray
    cum_per_year: np.ndarray
    stride: int
    banks: np.ndarray
    guarantors: np.ndarray
    first_borrower: int
    first_loan: int
    first_asset: int
    first_valuation: int

    @classmethod
    def make(cls, n: int, seed: int, as_of: date, banks: np.ndarray, guarantors: np.ndarray,
             first_ids: Sequence[int]) -> Plan:
        weights = year_weights(as_of)
        years = np.array(sorted(weights))
        per_year = _allocate(n, np.array([weights[y] for y in years])) if n else np.zeros(len(years), np.int64)
        stride = next(a for a in range(7919, 10**7) if math.gcd(a, max(n, 1)) == 1)
        return cls(n, seed, as_of, years, np.cumsum(per_year), stride, banks, guarantors, *first_ids)


def _borrowers_before(i: int) -> int:
    """Borrowers made for loans before index ``i``: round-half-up of 0.8 i."""
    return (4 * i + 2) // 5


def make_block(plan: Plan, k: int) -> dict[str, dict[str, Any]]:
    """Columns of the borrowers, loans, IP assets, collateral links and appraisals of block ``k``."""
    lo, hi = k * BLOCK, min(plan.n_loans, (k + 1) * BLOCK)
    m = hi - lo
    rng = np.random.default_rng([plan.seed, k])
    as_of = np.datetime64(plan.as_of)
    idx = np.arange(lo, hi, dtype=np.int64)

    # ---- origination: the year from a scrambled global index (exact allocation, years mixed in a block)
    pos = (idx * plan.stride + plan.seed % 1009) % max(plan.n_loans, 1)
    year = plan.years[np.searchsorted(plan.cum_per_year, pos, side="right")]
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    end = np.minimum((year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]"), as_of + 1)
    orig = start + (rng.random(m) * (end - start).astype(np.int64)).astype(np.int64).astype("timedelta64[D]")
    term = rng.choice(np.array(TERMS_MONTHS), m, p=[0.6, 0.25, 0.15])
    maturity = _add_months(orig, term)
    amount_cny = np.exp(np.log(4_000_000) + 1.57 * rng.standard_normal(m))
    amount_fen = np.clip(np.round(amount_cny / 10_000) * 10_000, 100_000, MAX_LOAN_CNY).astype(np.int64) * 100

    # ---- borrowers of this block: each keeps one bank, region, industry and size
    b_lo, b_hi = _borrowers_before(lo), _borrowers_before(hi)
    nb = b_hi - b_lo
    rt = region_table()
    where = rng.choice(len(rt.p), nb, p=rt.p)
    ind_keys, ind_p = _p(INDUSTRY_WEIGHTS)
    b_ind = ind_keys[rng.choice(len(ind_keys), nb, p=ind_p)]
    b_bank = plan.banks[rng.integers(0, len(plan.banks), nb)]
    b_size = np.array(["micro", "small", "medium", "large"])[rng.choice(4, nb, p=[0.3, 0.45, 0.2, 0.05])]
    b_reg = np.datetime64(f"{FIRST_YEAR}-01-01") - (rng.integers(1, 25, nb) * 365).astype("timedelta64[D]")
    b_ids = plan.first_borrower + b_lo + np.arange(nb)
    lb = np.concatenate([np.arange(nb), rng.integers(0, nb, m - nb)])[rng.permutation(m)]
    borrowers = {
        "id": b_ids, "name": np.char.add("演示科技企业", np.char.zfill((b_lo + np.arange(nb) + 1).astype(str), 7)),
        "credit_code": credit_codes(rt.county[where], b_lo + np.arange(nb) + plan.seed % 1000 * 1_000_003),
        "region_code": rt.county[where], "industry": b_ind, "size_class": b_size, "registered_on": b_reg,
        "owner_org_id": b_bank,
    }

    # ---- loan terms
    guaranteed = rng.random(m) < 0.4
    guarantor = np.where(guaranteed, plan.guarantors[rng.integers(0, len(plan.guarantors), m)], 0)
    fee_bp = rng.choice(np.array([80, 100, 120, 150, 180, 200]), m, p=[0.15, 0.3, 0.2, 0.2, 0.1, 0.05])
    spread_bp = np.clip(np.round(50 + 60 * rng.standard_normal(m)), -50, 400)
    rate_bp = np.clip(np.round(_lpr_1y(orig) * 10_000 + spread_bp), 250, 800).astype(np.int64)
    it_keys, it_p = _p(IP_TYPE_WEIGHTS)
    primary = it_keys[rng.choice(len(it_keys), m, p=it_p)]
    n_assets = _n_assets(plan.seed, k, m)

    # ---- IP assets, their legal and fee status at as_of, their appraisal at pledging
    assets, links, valuations, loan_value, loan_cv, val_date = _block_assets(
        plan, rng, lo, m, orig, year, primary, n_assets, amount_fen, b_ids[lb], b_bank[lb])

    # ---- default time from the hazard model over the features at origination
    ltv0 = amount_fen / loan_value
    X = build_features({
        "ltv_now": ltv0, "ltv_change": np.zeros(m), "max_dpd_12m": np.zeros(m), "dpd_now": np.zeros(m),
        "n_fee_events_12m": np.zeros(m), "valuation_cv": loan_cv,
        "valuation_age_years": (orig - val_date).astype(np.int64) / 365.25, "loan_age_years": np.zeros(m),
        "legal_event": np.full(m, "none"), "industry": b_ind[lb], "province": rt.province[where][lb],
        "borrower_size": b_size[lb], "ip_type": primary,
    })
    age = (as_of - orig).astype(np.int64)
    window_end = np.minimum(age, (maturity - orig).astype(np.int64))  # NPL today: default in the last year of it
    live = maturity > as_of
    weight = amount_fen * np.clip(1 - age / (maturity - orig).astype(np.int64), 0, 1)  # ≈ outstanding today
    tau = np.maximum(book_default_days(hazard_per_year(X), window_end, weight, live, rng), MIN_DAYS_TO_DEFAULT)
    loans = _loan_status(rng, as_of, orig, maturity, term, amount_fen, tau, guaranteed)
    ids = plan.first_loan + idx
    loans.update({
        "id": ids, "reference": np.char.add(f"D{plan.seed % 100000:05d}", np.char.zfill(idx.astype(str), 8)),
        "bank_org_id": b_bank[lb], "borrower_id": b_ids[lb], "guarantor_org_id": np.where(guarantor > 0, guarantor, -1),
        "origination_date": orig, "maturity_date": maturity, "purpose": np.full(m, "working capital"),
        "amount_fen": amount_fen, "currency": np.full(m, "CNY"), "annual_rate": rate_bp,
        "guarantee_fee_rate": np.where(guaranteed, fee_bp, -1), "term_months": term,
        "region_code": rt.county[where][lb], "city_code": rt.city[where][lb], "province_code": rt.province[where][lb],
        "industry": b_ind[lb], "primary_ip_type": primary, "ip_types": assets.pop("_ip_types"),
        "version": np.ones(m, np.int64),
    })
    settled_like = np.isin(loans["status"], ["settled", "closed"])
    links["pledge_status"] = np.where(np.repeat(settled_like, n_assets), "released", "registered")
    return {"borrower": borrowers, "loan": loans, "ip_asset": assets, "loan_collateral": links,
            "pledge_collateral_valuation": valuations}


def _block_assets(
    plan: Plan, rng: np.random.Generator, lo: int, m: int, orig: np.ndarray, year: np.ndarray, primary: np.ndarray,
    n_assets: np.ndarray, amount_fen: np.ndarray, loan_borrower: np.ndarray, loan_bank: np.ndarray,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """IP assets of a block's loans (first asset of the primary type), their links and appraisals."""
    as_of = np.datetime64(plan.as_of)
    n_ip = int(n_assets.sum())
    a_first = plan.first_asset + _assets_before(plan, lo)
    asset_loan = np.repeat(np.arange(m), n_assets)
    it_keys, it_p = _p(IP_TYPE_WEIGHTS)
    a_type = primary[asset_loan].copy()
    extra = np.ones(n_ip, dtype=bool)
    extra[np.r_[0, np.cumsum(n_assets)[:-1]]] = False
    a_type[extra] = it_keys[rng.choice(len(it_keys), int(extra.sum()), p=it_p)]
    ten_years = np.isin(a_type, ("utility_model", "design"))  # filed ≤ 6 years back: in force past maturity
    filing_year = year[asset_loan] - rng.integers(1, np.where(ten_years, 7, 8), n_ip)
    filing = ((filing_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
              + rng.integers(0, 365, n_ip).astype("timedelta64[D]"))
    grant = filing + rng.integers(180, 900, n_ip).astype("timedelta64[D]")
    grant = np.maximum(np.minimum(grant, orig[asset_loan] - np.timedelta64(20, "D")), filing)
    ids = a_first + np.arange(n_ip)
    is_patent = np.isin(a_type, list(_PATENT_DIGIT))
    ident = np.empty(n_ip, dtype=object)
    if is_patent.any():
        tdig = np.select([a_type == t for t in _PATENT_DIGIT], list(_PATENT_DIGIT.values()))[is_patent]
        ident[is_patent] = patent_numbers(filing_year[is_patent], tdig, ids[is_patent] + plan.seed % 997 * 10_007)
    for kind, fmt in (("trademark", "TM{:08d}"), ("copyright", "国作登字-{y}-F-{:08d}"),
                      ("software_copyright", "{y}SR{:07d}")):
        sel = a_type == kind
        ident[sel] = [fmt.format(int(s) % 10**7, y=int(y)) for s, y in zip(ids[sel], filing_year[sel], strict=True)]
    # legal and fee status at as_of
    life = np.select([a_type == "invention_patent", a_type == "utility_model", a_type == "design"],
                     [20, 10, np.where(filing >= np.datetime64("2021-06-01"), 15, 10)], 0)
    expiry = _add_months(filing, life * 12)
    years_in = plan.as_of.year - filing_year
    last_anniv = _add_months(filing, years_in * 12)
    last_anniv = np.where(last_anniv > as_of, _add_months(filing, (years_in - 1) * 12), last_anniv)
    next_anniv = _add_months(last_anniv, np.full(n_ip, 12))
    u = rng.random(n_ip)
    in_grace = (as_of - last_anniv).astype(np.int64) <= 183
    late = is_patent & in_grace & (u < FEE_LATE_IN_GRACE)
    lapsed = is_patent & ~late & (u > 1 - LAPSED_SHARE)
    expired = is_patent & (expiry <= as_of)
    legal = np.where(expired, "expired", np.where(lapsed, "lapsed", "granted"))
    paid_until = np.where(late | lapsed, last_anniv, next_anniv)
    paid_until = np.where(expired, expiry, paid_until)
    paid_until = np.where(is_patent, paid_until, np.datetime64("NaT"))
    title = np.char.add(np.char.add("演示", np.select([a_type == t for t in _TITLE], list(_TITLE.values()), "")),
                        np.char.add(" ", (ids - plan.first_asset + 1).astype(str)))
    assets = {
        "id": ids, "ip_type": a_type, "identifier": ident, "title": title, "filing_date": filing, "grant_date": grant,
        "legal_status": legal, "annual_fee_paid_until": paid_until, "borrower_id": loan_borrower[asset_loan],
        "owner_org_id": loan_bank[asset_loan],
    }
    multi: dict[Any, set[Any]] = {}
    if (n_assets > 1).any():
        for li, t in zip(asset_loan.tolist(), a_type.tolist(), strict=True):
            multi.setdefault(li, set()).add(t)
    assets["_ip_types"] = np.array([",".join(sorted(multi[i])) if i in multi else primary[i] for i in range(m)])
    # appraisal at pledging: value so that the loan is 30–60% of it, spread (cv) per asset
    pledge_rate = rng.uniform(0.3, 0.6, m)
    value = (amount_fen / pledge_rate / n_assets)[asset_loan].astype(np.int64)
    cv = np.exp(np.log(0.3) + np.where(np.isin(a_type, ("copyright", "design")), 0.25, 0.0)
                + 0.3 * rng.standard_normal(n_ip))
    reg_on = orig[asset_loan] - rng.integers(3, 15, n_ip).astype("timedelta64[D]")
    v_date = reg_on - appraisal_lag_days(ids).astype("timedelta64[D]")
    links = {"id": ids, "loan_id": plan.first_loan + lo + asset_loan, "ip_asset_id": ids, "appraised_value_fen": value,
             "pledge_registration_no": np.char.add("Y", np.char.zfill(ids.astype(str), 12)),
             "pledge_registered_on": reg_on}
    p5 = np.maximum(0, np.round(value * (1 - 1.6449 * cv))).astype(np.int64)
    valuations = {"id": plan.first_valuation + (ids - plan.first_asset), "ip_asset_id": ids, "value_fen": value,
                  "p5_fen": p5, "score": rng.integers(55, 96, n_ip), "valuation_date": v_date,
                  "source": np.full(n_ip, "appraiser"),
                  "report_reference": [f"演示评报字[{y}]第{a:06d}号" for y, a in
                                       zip((v_date.astype("datetime64[Y]").astype(np.int64) + 1970).tolist(),
                                           ids.tolist(), strict=True)]}
    loan_value = np.bincount(asset_loan, weights=value, minlength=m)
    loan_cv = np.bincount(asset_loan, weights=value * cv, minlength=m) / loan_value
    return assets, links, valuations, loan_value, loan_cv, v_date[np.r_[0, np.cumsum(n_assets)[:-1]]]


@cache
def _asset_offsets(seed: int, n_loans: int) -> np.ndarray:
    """Assets before each block (number of assets per loan is the first draw of its own stream)."""
    out = [0]
    for k in range(-(-n_loans // BLOCK)):
        m = min(n_loans, (k + 1) * BLOCK) - k * BLOCK
        out.append(out[-1] + int(_n_assets(seed, k, m).sum()))
    return np.array(out, dtype=np.int64)


def _n_assets(seed: int, k: int, m: int) -> np.ndarray:
    return np.random.default_rng([seed, k, 7]).choice(np.array([1, 2, 3]), m, p=[0.6, 0.3, 0.1])


def _assets_before(plan: Plan, lo: int) -> int:
    return int(_asset_offsets(plan.seed, plan.n_loans)[lo // BLOCK])


def _loan_status(
    rng: np.random.Generator, as_of: np.datetime64, orig: np.ndarray, maturity: np.ndarray, term: np.ndarray,
    amount_fen: np.ndarray, tau: np.ndarray, guaranteed: np.ndarray,
) -> dict[str, np.ndarray]:
    """Status, days past due, outstanding and default date at ``as_of`` from the default time ``tau`` (days).

    A loan is 90+ days past due (non-performing) on its default date, overdue from 90 days
    before; then in default < 90 days, in claim (guaranteed) until day 240, in disposal until
    day 365, then recovered / written off / closed. Balances are straight-line; a defaulted
    loan keeps its balance at default.
    """
    m = len(orig)
    life = (maturity - orig).astype(np.int64)
    d_date = orig + tau.astype("timedelta64[D]")
    defaults = (tau < life) & (d_date <= as_of)
    since = (as_of - d_date).astype(np.int64)
    matured = maturity <= as_of
    status = np.where(matured, "settled", "active").astype("<U16")
    dpd = np.zeros(m, dtype=np.int64)
    coming = ~defaults & (tau < life) & ~matured & (since >= -90)  # first missed payment already behind
    status[coming] = "overdue"
    dpd[coming] = 91 + since[coming]
    late = (status == "active") & (rng.random(m) < LATE_PAYER_SHARE)
    status[late] = "overdue"
    dpd[late] = rng.integers(1, 31, m)[late]
    ended = np.array(["recovered", "written_off", "closed"])[rng.choice(3, m, p=[0.4, 0.25, 0.35])]
    npl_stage = np.where(since < 90, "default", np.where(guaranteed & (since < 240), "in_claim",
                                                         np.where(since < NPL_WINDOW_DAYS, "in_disposal", ended)))
    status = np.where(defaults, npl_stage, status)
    dpd = np.where(defaults & np.isin(npl_stage, ("default", "in_claim", "in_disposal")), 91 + since, dpd)
    at = np.where(defaults, d_date, as_of)
    elapsed = (at - orig).astype(np.int64) / (365.25 / 12)
    balance = np.round(amount_fen * np.clip(1 - elapsed / term, 0, 1) / 100) * 100
    outstanding = np.where(status == "settled", 0, np.minimum(balance, amount_fen)).astype(np.int64)
    return {"status": status, "days_past_due": dpd, "outstanding_fen": outstanding,
            "default_date": np.where(defaults, d_date, np.datetime64("NaT"))}


_TITLE = {"invention_patent": "发明专利", "utility_model": "实用新型", "design": "外观设计", "trademark": "商标",
          "copyright": "作品", "software_copyright": "软件"}


# --------------------------------------------------------------- generate


def generate(
    engine: Engine,
    n_loans: int = 20_000,
    seed: int = 20190101,
    *,
    as_of: date | None = None,
    batch: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seed organisations, users and ``n_loans`` demo loans as of ``as_of`` (default today); counts and timing."""
    if n_loans < 0:
        raise ValueError("n_loans must not be negative")
    if batch < 1:
        raise ValueError("batch must be positive")
    as_of = as_of or date.today()
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    with (tempfile.TemporaryDirectory(prefix="ipfin-demo-") as scratch, engine.connect() as conn,
          _bulk_load(conn), _rollups_attached(conn), conn.begin()):
        if conn.execute(select(func.count()).select_from(Loan)).scalar_one() > 0:
            raise RuntimeError("the database already has loans; use `ipfin demo-data --reset` to start over")
        org_ids = seed_organisations_and_users(conn)
        ctx = _generate_loans_and_domains(conn, org_ids, n_loans, seed, as_of, batch, say,
                                          Path(scratch) / "rollups.db")
        conn.execute(insert(AuditEvent).values(
            at=_now(), entity="demo_data", entity_id=str(seed), action="generate",
            after={"seed": seed, "as_of": as_of.isoformat(), **ctx.counts},
        ))
    reset_sequences(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # planner statistics for the dashboard's aggregate queries
    seconds = time.perf_counter() - t0
    return {"seed": seed, "as_of": as_of.isoformat(), "seconds": round(seconds, 2), **ctx.counts}


def _generate_loans_and_domains(
    conn: Connection, org_ids: dict[str, int], n_loans: int, seed: int, as_of: date, batch: int,
    say: Callable[[str], None], rollup_file: Path,
) -> DemoContext:
    """The loans block by block (each block also to the domains' ``on_block`` hooks), then each domain's
    demo data. The statistics rollups are summed from the same blocks by :func:`summed_rollups` — in a
    child process from :data:`ROLLUP_PROCESS_FROM` loans, while this one loads — into a file of their
    own, and copied in after the loans' indexes are built, instead of by a trigger per row (the triggers
    are back before the transaction commits)."""
    kinds = {name: kind for name, kind, _ in ORGANISATIONS}
    plan = Plan.make(
        n_loans, seed, as_of,
        np.array([org_ids[n] for n, k in kinds.items() if k == "bank"]),
        np.array([org_ids[n] for n, k in kinds.items() if k == "guarantor"]),
        [_next_id(conn, m) for m in (Borrower, Loan, IPAsset, CollateralValuation)],
    )
    rollup_tables = [LoanRollup.__table__, RegistrationRollup.__table__]  # type: ignore[attr-defined]
    job = _RollupJob(summed_rollups, (plan, str(rollup_file), _rollup_schema(conn, rollup_tables), batch),
                     separate=n_loans >= ROLLUP_PROCESS_FROM, scratch=rollup_file.parent)
    with job, rollup.without_triggers(conn, refill=None):  # the rollups are copied in below
        counts = {"borrowers": 0, "loans": 0, "ip_assets": 0}
        tables = {"borrower": Borrower, "loan": Loan, "ip_asset": IPAsset, "loan_collateral": LoanCollateral,
                  "pledge_collateral_valuation": CollateralValuation}
        now = _now()
        n_blocks = -(-n_loans // BLOCK)
        ctx = DemoContext(seed=seed, rng=np.random.default_rng([seed, 1]), as_of=as_of, org_ids=org_ids,
                          loan_ids=plan.first_loan + np.arange(n_loans), counts=counts, batch=batch,
                          next_valuation_id=plan.first_valuation + int(_asset_offsets(seed, n_loans)[-1]))
        hooks = [d.on_block for d in domain_demos() if hasattr(d, "on_block")]
        rebuild = n_loans >= REBUILD_INDEXES_FROM
        with _indexes_built_after(conn, [m.__table__ for m in tables.values()], rebuild):  # type: ignore[attr-defined]
            for k in range(n_blocks):
                block = make_block(plan, k)
                for name, model in tables.items():
                    bulk_insert(conn, model, block[name], batch, now)
                for hook in hooks:
                    for key, n in hook(conn, ctx, k, block).items():
                        counts[key] = counts.get(key, 0) + n
                counts["borrowers"] += len(block["borrower"]["id"])
                counts["loans"] += len(block["loan"]["id"])
                counts["ip_assets"] += len(block["ip_asset"]["id"])
                if k % 10 == 9 or k == n_blocks - 1:
                    say(f"loans: {counts['loans']:,} of {n_loans:,}")
            say("indexes")
        with _indexes_built_after(conn, rollup_tables, rebuild):  # secondary indexes after the copy
            summed = job.result()
            if summed:
                _copy_rollups(conn, rollup_file, rollup_tables, batch)
            else:  # sums that may not be exact: the rebuild from the loans
                rollup.rebuild(conn)
            say(f"statistics rollup {'summed from the blocks' if summed else 'rebuilt from the book'}")
        counts["collateral_valuations"] = counts["ip_assets"]
        for domain_demo in domain_demos():
            say(f"{domain_demo.__name__.split('.')[1]} demo data")
            ctx.counts.update(domain_demo.extend(conn, ctx))
        say("statistics rollup")
    return ctx


ROLLUP_PROCESS_FROM = 50_000
"""From this many loans :func:`summed_rollups` runs in a child process alongside the load (two cores: the
sums cost a third as much again as the load's own work); below it, in this process after the load (a
process start costs more than a small book's sums)."""


def summed_rollups(plan: Plan, path: str, schema: list[str], batch: int) -> bool:
    """Both statistics rollups of the book, summed from its blocks (``api.stats.demo.BookRollup``: the rows
    ``rollup.rebuild`` gives) and written to a new SQLite file at ``path`` whose tables ``schema`` creates;
    False (nothing written) when the sums may not be exact. The blocks are drawn again here (``make_block``
    depends on the plan and block number only), so nothing but this answer crosses between processes."""
    sums = _book_rollup(plan)
    for k in range(-(-plan.n_loans // BLOCK)):
        sums.add(make_block(plan, k))
        if not sums.exact:
            return False
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode = OFF")  # a scratch file: nothing to roll back to
            conn.exec_driver_sql("PRAGMA synchronous = OFF")
            for ddl in schema:
                conn.exec_driver_sql(ddl)
            written = sums.write(conn, batch)
            conn.commit()
    finally:
        engine.dispose()
    return written


class _RollupJob:
    """``fn(*args)`` in a child Python process (``separate``), or in this process when :meth:`result` is
    asked for. The child is a fresh interpreter started with ``python -c`` (not ``multiprocessing``: a
    forked child would inherit a server's threads, a spawned one re-runs the caller's main script), given
    the call pickled in a scratch file; its answer comes back the same way. Leaving the ``with`` block
    ends the child if it still runs (the load failed), so a failed generation leaves no process behind."""

    def __init__(self, fn: Callable[..., bool], args: tuple[Any, ...], *, separate: bool, scratch: Path) -> None:
        self.fn, self.args, self.scratch = fn, args, scratch
        self.proc: subprocess.Popen[bytes] | None = None
        if separate:
            (scratch / "job.pickle").write_bytes(pickle.dumps((fn, args)))
            root = str(Path(__file__).resolve().parents[1])  # the checkout holding ``api``
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
                   "MALLOC_MMAP_THRESHOLD_": os.environ.get("MALLOC_MMAP_THRESHOLD_", "131072")}
            # ^ glibc: large arrays in their own mappings, returned when freed (the sums grow by copies; with
            #   the default sliding threshold the freed copies stayed in the heap: 120 MiB more at 1M loans)
            with open(scratch / "job.log", "wb") as log:
                self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(scratch)], env=env,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def result(self) -> bool:
        if self.proc is None:
            return bool(self.fn(*self.args))
        if self.proc.wait() != 0:
            log = (self.scratch / "job.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"summing the rollups failed (exit {self.proc.returncode}):\n{log}")
        return bool(pickle.loads((self.scratch / "job.answer").read_bytes()))

    def __enter__(self) -> _RollupJob:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_CHILD = """import pickle, sys
from pathlib import Path
scratch = Path(sys.argv[1])
fn, args = pickle.loads((scratch / "job.pickle").read_bytes())
(scratch / "job.answer").write_bytes(pickle.dumps(fn(*args)))
"""
"""The child's program (:class:`_RollupJob`): the call from the scratch directory, its answer into it."""


def _rollup_schema(conn: Connection, tables: list[Any]) -> list[str]:
    """CREATE TABLE statements for the rollups' scratch file: on SQLite this database's own (the same columns
    in the same order, so the copy is SQLite's page-level transfer), else the models' in SQLite's dialect."""
    if conn.dialect.name == "sqlite":
        return [conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                     (t.name,)).scalar_one() for t in tables]
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    return [str(CreateTable(t).compile(dialect=sqlite.dialect())) for t in tables]


ROLLUP_SCHEMA = "demo_rollups"
"""Name the rollups' scratch file is attached under (SQLite)."""


def _copy_rollups(conn: Connection, path: Path, tables: list[Any], batch: int) -> None:
    """The rollups' rows from the scratch file into this database's (empty) tables. On SQLite the file is
    attached and each table copied with ``INSERT … SELECT *`` (same schema, empty target, no secondary
    index: SQLite moves the records without decoding them); elsewhere the rows are read and inserted in
    batches."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {ROLLUP_SCHEMA}", (str(path),))  # detached after the commit
        for t in tables:
            conn.exec_driver_sql(f"INSERT INTO {t.name} SELECT * FROM {ROLLUP_SCHEMA}.{t.name}")
        return
    source = sqlite3.connect(path)
    try:
        for t in tables:
            names = [c.name for c in t.columns]
            rows = source.execute(f"SELECT {', '.join(names)} FROM {t.name}")
            while chunk := rows.fetchmany(batch):
                columns = dict(zip(names, (np.array(v) for v in zip(*chunk, strict=True)), strict=True))
                for c in t.columns:
                    if isinstance(c.type, Date):
                        columns[c.name] = columns[c.name].astype("datetime64[D]")
                bulk_insert(conn, t, columns, batch)
    finally:
        source.close()


@contextmanager
def _rollups_attached(conn: Connection) -> Iterator[None]:
    """Detach the rollups' scratch file (:func:`_copy_rollups`) once the generating transaction is over:
    SQLite refuses a DETACH inside it, and the connection goes back to the pool."""
    try:
        yield
    finally:
        if conn.dialect.name == "sqlite":
            conn.rollback()  # no-op after the commit
            attached = {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")}
            if ROLLUP_SCHEMA in attached:
                conn.exec_driver_sql(f"DETACH DATABASE {ROLLUP_SCHEMA}")
            conn.commit()


def _book_rollup(plan: Plan) -> Any:
    """The statistics rollups' sums, filled block by block (``api.stats.demo``)."""
    from api.stats.demo import BookRollup

    keys = {"province": sorted(set(region_table().province.tolist())), "industry": list(INDUSTRY_WEIGHTS),
            "ip_type": list(IP_TYPE_WEIGHTS), "bank": [str(b) for b in plan.banks.tolist()]}
    return BookRollup(keys, TERMS_MONTHS, date(FIRST_YEAR - 1, 1, 1), plan.as_of)


SQLITE_BULK_PRAGMAS = {"foreign_keys": ("OFF", "ON"), "synchronous": ("OFF", "NORMAL"),
                       "journal_mode": ("DELETE", "WAL")}
"""SQLite settings of the generating connection during the load → after it (``api.core.db.make_engine``'s)."""


@contextmanager
def _bulk_load(conn: Connection) -> Iterator[None]:
    """On SQLite, load with a rollback journal instead of WAL (a fresh file's new pages are not journalled,
    so the book is written once instead of to the WAL and again at the checkpoint), no fsync, no per-row
    foreign-key look-ups (the generator makes ids and references itself; the test book is checked with
    ``PRAGMA foreign_key_check``); afterwards the connection and file are back to WAL,
    ``synchronous=NORMAL`` and foreign keys on. The generation is still one transaction: a failure rolls
    everything back. Other databases: nothing changes."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # outside any transaction: SQLite ignores these pragmas inside one
        for name, (during, _after) in SQLITE_BULK_PRAGMAS.items():
            try:
                conn.exec_driver_sql(f"PRAGMA {name} = {during}")
            except OperationalError:  # another connection has the file open: the journal stays WAL
                conn.rollback()
        conn.commit()
    try:
        yield
    finally:
        if sqlite:
            conn.rollback()  # no-op after the commit; ends a failed load's transaction before the pragmas
            for name, (_during, after) in SQLITE_BULK_PRAGMAS.items():
                conn.exec_driver_sql(f"PRAGMA {name} = {after}")
            conn.commit()


REBUILD_INDEXES_FROM = 50_000
"""From this many loans, the bulk tables' secondary indexes are dropped for the load and built after it."""
SQLITE_CACHE_KIB = 65_536
"""Page cache of the generating connection on SQLite (64 MiB; 128 MiB loaded no faster at 1M loans): the unique
indexes' pages stay in memory during the load; the index builds' sorter takes as much again (peak memory,
issue 17: ≤ 1 GB at 1M loans)."""
SQLITE_SORTER_THREADS = min(4, os.cpu_count() or 1)
"""Helper threads SQLite's sorter may use for the index builds after the load (``PRAGMA threads``: the sorts run
on another core while one is free; a build without threads makes the same index, and a library without
threads grants 0)."""


@contextmanager
def _indexes_built_after(conn: Connection, tables: list[Any], rebuild: bool) -> Iterator[None]:
    """Load into ``tables`` with their secondary indexes dropped and built once at the end (a sorted build
    is much faster than a million random B-tree inserts); the same names and definitions, so the schema
    is unchanged. On SQLite the connection's page cache is raised for the load, and the index builds' sorts
    may use :data:`SQLITE_SORTER_THREADS` helper threads (``PRAGMA threads``; the setting is restored after)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    indexes = [ix for t in tables for ix in sorted(t.indexes, key=lambda i: i.name)] if rebuild else []
    for ix in indexes:
        ix.drop(conn)
    try:
        yield
    finally:
        threads = conn.exec_driver_sql("PRAGMA threads").scalar() if sqlite and indexes else None
        if threads is not None:
            conn.exec_driver_sql(f"PRAGMA threads = {SQLITE_SORTER_THREADS}")
        try:
            for ix in indexes:
                ix.create(conn)
        finally:
            if threads is not None:
                conn.exec_driver_sql(f"PRAGMA threads = {int(threads)}")


def _next_id(conn: Connection, model: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1


_NULL_IF_NEGATIVE = {"guarantor_org_id"}
_RATE_BP = {"annual_rate", "guarantee_fee_rate"}


_DAY_CHUNK = 4096
"""Days per cached chunk of day values in database form (:func:`_days_chunk`)."""


@cache
def _days_chunk(c: int, sqlite: bool) -> np.ndarray:
    """Days ``c·4096 … c·4096 + 4095`` (since 1970-01-01) in database form, an object array: ISO text on SQLite
    (SQLAlchemy's SQLite DATE, exactly what numpy writes), ``date`` otherwise."""
    days = np.arange(c * _DAY_CHUNK, (c + 1) * _DAY_CHUNK).astype("datetime64[D]")
    return np.datetime_as_string(days, unit="D").astype(object) if sqlite else days.astype(object)


def _days(values: np.ndarray, sqlite: bool) -> list[Any]:
    """Numpy days in database form (NaT → None), each day formatted once (a cached table, not once per row)."""
    d = values.astype("datetime64[D]")
    nat = np.isnat(d)
    out = np.full(len(d), None, dtype=object)
    i = d.view(np.int64)[~nat]
    if len(i):
        lo, hi = int(i.min()) // _DAY_CHUNK, int(i.max()) // _DAY_CHUNK
        if hi - lo < 32:  # the demo's centuries: a few chunks
            table = np.concatenate([_days_chunk(c, sqlite) for c in range(lo, hi + 1)])
            out[~nat] = table[i - lo * _DAY_CHUNK]
        else:  # days far apart: each distinct one formatted once, nothing cached
            days, at = np.unique(d[~nat], return_inverse=True)
            text = np.datetime_as_string(days, unit="D") if sqlite else days
            out[~nat] = text.astype(object)[at]
    return out.tolist()  # type: ignore[no-any-return]


def _column(values: Any, key: str, proc: Callable[[Any], Any] | None, sqlite: bool) -> list[Any]:
    """One column in database form: vectorised for numpy dates and rates, ``proc`` once per distinct value else."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return _days(values, sqlite)
    if key in _RATE_BP:
        bp = np.asarray(values, dtype=np.int64)
        if sqlite:  # SQLAlchemy binds Numeric as float on SQLite: bp / 10000 is that same float
            rate = (bp / 10000).astype(object)
            rate[bp < 0] = None
            return rate.tolist()  # type: ignore[no-any-return]
        return [None if b < 0 else Decimal(b) / 10000 for b in bp.tolist()]
    if sqlite and proc is not None and isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(float).tolist()  # type: ignore[no-any-return]  # Numeric on SQLite binds as float
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if key in _NULL_IF_NEGATIVE:
        vals = [None if v < 0 else v for v in vals]
    return vals if proc is None else _processed(vals, proc)


@dataclass(frozen=True)
class _Constant:
    """A column with one value, already in database form."""

    value: Any


def bulk_insert(conn: Connection, model: Any, columns: dict[str, Any], batch: int, now: Any = None) -> int:
    """Insert column arrays into ``model``'s table (or a ``Table``) through the DBAPI's executemany, ``batch``
    rows a statement.

    Each column's bind processor (date → text on SQLite, Decimal → float, …) is applied once
    per distinct value, not once per row (dates and rates vectorised). Rate columns come in
    basis points (→ exact Decimal); −1 in a rate or the guarantor means NULL.
    ``created_at``/``updated_at`` get ``now``.
    """
    table = getattr(model, "__table__", model)  # a model or its table
    data = dict(columns)
    n = len(next(iter(data.values()))) if data else 0
    if n == 0:
        return 0
    dialect = conn.dialect
    for stamp in ("created_at", "updated_at"):
        if stamp in table.c and stamp not in data:
            proc = table.c[stamp].type.dialect_impl(dialect).bind_processor(dialect)
            stamped = now or _now()
            data[stamp] = _Constant(proc(stamped) if proc else stamped)
    cols = [c for c in table.columns if c.key in data]
    sqlite = dialect.name == "sqlite"
    procs = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) VALUES ({', '.join([mark] * len(cols))})"
    for k in range(0, n, batch):  # converted a statement's rows at a time: a 500,000-row table is not all in Python
        m = min(batch, n - k)
        out = [[data[c.key].value] * m if isinstance(data[c.key], _Constant) else
               _column(data[c.key][k: k + m], c.key, proc, sqlite) for c, proc in zip(cols, procs, strict=True)]
        conn.exec_driver_sql(sql, list(zip(*out, strict=True)))  # type: ignore[arg-type]
    return n


def _processed(values: list[Any], proc: Callable[[Any], Any]) -> list[Any]:
    """``proc`` applied once per distinct value (per value for unhashable ones, e.g. JSON dicts); None kept."""
    cache_: dict[Any, Any] = {}
    out: list[Any] = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, dict | list):
            out.append(proc(v))
        else:
            out.append(cache_[v] if v in cache_ else cache_.setdefault(v, proc(v)))
    return out


def reset_sequences(engine: Engine) -> None:
    """After inserts with explicit ids, move PostgreSQL sequences past the largest id."""
    if engine.dialect.name != "postgresql":
        return
    from api.pledge.models import BucketHistory, PledgeAlert, PledgeDisposal

    with engine.begin() as conn:
        for model in (Borrower, Loan, IPAsset, LoanCollateral, CollateralValuation, BucketHistory, PledgeAlert,
                      PledgeDisposal):
            t = model.__tablename__
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 1))"
            )

