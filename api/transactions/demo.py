"""Demo rows of the IP transaction register beyond pledge disposals (those come from ``api.pledge.demo``):
sales, exclusive and non-exclusive licences, auctions, reserve purchases (收储) and equity contributions
(作价入股) over the book's years, priced and traded in the six pricing methods and five trading modes of
seed 002, recorded by the platform (``source`` ``import``: the exchanges' feeds).

**Volume** (assumption): :data:`ROWS_PER_LOAN` transactions per loan originated, in the same year, region,
industry and IP type as a loan drawn from the book (so the register follows the book's regional spread).
The first rows take each (kind, method, mode) of :data:`PAIRS` once, so every kind, method and mode shows.

**Prices** (assumption): a collateral valuation of the same IP type drawn from the book × the kind's factor
(:data:`PRICE_FACTOR`: a licence sells a fraction of the right; auctions clear below appraisal) × a
lognormal spread (σ 0.8), in integer fen; a reserve purchase is a bundle of 2–60 rights.

**Calibrated to the seeds, at the book's scale 1:N** (N = national pledge amount over the book's years /
the book's amount; ``api.demo.annual_cny_bn``):

- Hangzhou (seed 004, written in 2021): 1,799 deals for 3.4亿元 "2019年至今" — taken as 2019–2020: the
  Hangzhou rows of those years are round(1799 / N) deals whose prices add up to exactly 3.4亿元 / N.
- Guangzhou (seed 004): 77.6亿元 traded by its core operators in 2019 — the Guangzhou rows of 2019 are
  rescaled to add up to exactly 77.6亿元 / N (same count).
- Chongqing (seed 002): the reserve purchase of 132 patents from Changan (one row, ``asset_count`` 132,
  priced as 132 rights of the draw; dated 2021-06-30, assumption) and an equity contribution of 500万元
  (one row at exactly 500万元, 2021-09-30, assumption) — single facts, not scaled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from api.demo import FIRST_YEAR, annual_cny_bn, bulk_insert
from api.pledge.models import CollateralValuation, IPAsset, Loan
from api.transactions.models import IPTransactionRow, TransactionSource

ROWS_PER_LOAN = 0.5
BOOK_CHUNK = 50_000
"""Loans read back at a time."""
PAIRS: dict[str, list[tuple[str, str, float]]] = {  # kind → (pricing method, trading mode, weight)
    "sale": [("agreement", "agreement", 30), ("appraisal", "agreement", 10), ("agreement", "listing", 15),
             ("appraisal", "listing", 10), ("big_data_valuation", "listing", 10), ("online_bidding", "bidding", 10),
             ("competitive_negotiation", "directed", 5), ("agreement", "alliance", 10)],
    "exclusive_licence": [("agreement", "agreement", 40), ("appraisal", "directed", 20),
                          ("competitive_negotiation", "agreement", 15), ("big_data_valuation", "listing", 10),
                          ("agreement", "alliance", 15)],
    "non_exclusive_licence": [("agreement", "agreement", 30), ("agreement", "alliance", 30),
                              ("big_data_valuation", "listing", 25), ("online_bidding", "bidding", 15)],
    "auction": [("auction_bidding", "bidding", 80), ("online_bidding", "bidding", 20)],
    "reserve_purchase": [("appraisal", "directed", 50), ("competitive_negotiation", "directed", 30),
                         ("big_data_valuation", "agreement", 20)],
    "equity_contribution": [("appraisal", "directed", 70), ("agreement", "agreement", 30)],
}
KIND_SHARE = {"sale": 0.30, "exclusive_licence": 0.12, "non_exclusive_licence": 0.30, "auction": 0.08,
              "reserve_purchase": 0.08, "equity_contribution": 0.12}
PRICE_FACTOR = {"sale": 0.6, "exclusive_licence": 0.3, "non_exclusive_licence": 0.05, "auction": 0.5,
                "reserve_purchase": 0.2, "equity_contribution": 0.8}
"""Price as a share of a collateral valuation of one right (reserve purchases: per right of the bundle)."""
LIFE_YEARS = {"invention_patent": 20.0, "utility_model": 10.0, "design": 15.0, "trademark": 10.0}
HANGZHOU = ("3301", date(2019, 1, 1), date(2020, 12, 31), 1_799, 340_000_000_00)
GUANGZHOU_2019 = ("4401", date(2019, 1, 1), date(2019, 12, 31), 7_760_000_000_00)
CHANGAN = (date(2021, 6, 30), "500100", 132)
CQ_EQUITY = (date(2021, 9, 30), "500100", 5_000_000_00)


def _scale(conn: Connection, as_of: date) -> float:
    """N of the book's 1:N scale: national pledge amount from 2019 to ``as_of`` / the book's amount."""
    book = int(conn.execute(select(func.coalesce(func.sum(Loan.__table__.c.amount_fen), 0))).scalar_one())  # type: ignore[attr-defined]
    days = (as_of - date(as_of.year, 1, 1)).days + 1
    national = sum(annual_cny_bn(y) for y in range(FIRST_YEAR, as_of.year)) + annual_cny_bn(as_of.year) * days / 365
    return national * 1e11 / book if book else float("inf")


def _split(total_fen: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total_fen`` by ``weights`` (exact integer fen)."""
    exact = total_fen * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    out[np.argsort(-(exact - out), kind="stable")[: total_fen - int(out.sum())]] += 1
    return out


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _draw(rng: np.random.Generator, loans: Any, values: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``n`` register rows: a loan of the book each (date in its year, region, industry, IP type), a kind and a
    (method, mode) pair (the first rows cover every pair once), a price from a valuation of the same type."""
    pairs = [(k, m, d, w * KIND_SHARE[k] / sum(x[2] for x in PAIRS[k])) for k in PAIRS for m, d, w in PAIRS[k]]
    p = np.array([x[3] for x in pairs])
    pick = rng.choice(len(pairs), n, p=p / p.sum())
    pick[: min(n, len(pairs))] = np.arange(min(n, len(pairs)))
    kind, method, mode = (np.array([x[j] for x in pairs], dtype=object)[pick] for j in range(3))
    src = rng.integers(0, len(loans["year"]), n)
    year = loans["year"][src]
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) + _EPOCH_ORDINAL  # 1 Jan
    end = np.minimum(start + 364, loans["last"][src])
    when = start + np.floor(rng.random(n) * (end - start + 1)).astype(np.int64)
    ip_type = loans["ip_type"][src]
    anchor = np.empty(n)
    for t in np.unique(ip_type):
        at = ip_type == t
        pool = values.get(str(t), values["*"])
        anchor[at] = pool[rng.integers(0, len(pool), int(at.sum()))]
    count = np.where(kind == "reserve_purchase", 2 + rng.geometric(0.08, n).clip(max=58), 1)
    factor = np.array([PRICE_FACTOR[x[0]] for x in pairs])[pick]
    price = np.maximum(np.round(anchor * factor * count * np.exp(0.8 * rng.standard_normal(n) - 0.32)), 100)
    life = np.array([LIFE_YEARS.get(str(t), 20.0) for t in ip_type]) * rng.uniform(0.1, 0.9, n)
    return {"kind": kind, "pricing_method": method, "trading_mode": mode, "ordinal": when,
            "region_code": loans["region"][src], "industry": loans["industry"][src], "ip_type": ip_type,
            "price_fen": price.astype(np.int64), "asset_count": count.astype(np.int64),
            "remaining_life_years": np.round(life, 2), "quality_score": np.round(rng.uniform(50, 95, n), 1)}


def _calibrate(rng: np.random.Generator, rows: dict[str, np.ndarray], loans: Any, values: dict[str, np.ndarray],
               n_scale: float, as_of: date) -> dict[str, np.ndarray]:
    """Hangzhou 2019–2020 to round(1799 / N) deals worth 3.4亿元 / N, Guangzhou 2019 to 77.6亿元 / N, and
    Chongqing's two single facts (see the module docstring); periods outside the book are left alone."""
    prefix, lo, hi, count, total = HANGZHOU
    if lo <= as_of:  # the drawn Hangzhou rows of the window give way to the calibrated ones
        target = round(count / n_scale)
        here = np.flatnonzero(np.char.startswith(loans["region"].astype(str), prefix)
                              & (loans["year"] >= lo.year) & (loans["year"] <= hi.year))
        rows = {k: v[~_in(rows, prefix, lo, hi)] for k, v in rows.items()}
        if target and len(here):
            extra = _draw(rng, {k: v[here] for k, v in loans.items()}, values, target)
            extra["price_fen"] = _split(round(total / n_scale), extra["price_fen"].astype(float))
            rows = {k: np.concatenate([v, extra[k]]) for k, v in rows.items()}
    prefix, lo, hi, total = GUANGZHOU_2019
    at = _in(rows, prefix, lo, hi)
    if at.any():
        rows["price_fen"][at] = _split(round(total / n_scale), rows["price_fen"][at].astype(float))
    singles = []
    (on, region, bundle), (eq_on, eq_region, eq_fen) = CHANGAN, CQ_EQUITY
    if on <= as_of:
        per_right = float(np.median(values.get("invention_patent", values["*"]))) * PRICE_FACTOR["reserve_purchase"]
        singles.append(("reserve_purchase", "appraisal", "directed", on, region, "C", bundle,
                        round(per_right * bundle)))
    if eq_on <= as_of:
        singles.append(("equity_contribution", "appraisal", "directed", eq_on, eq_region, "N", 1, eq_fen))
    for kind, method, mode, d, reg, ind, cnt, fen in singles:
        one = {"kind": kind, "pricing_method": method, "trading_mode": mode, "ordinal": d.toordinal(),
               "region_code": reg, "industry": ind, "ip_type": "invention_patent", "price_fen": fen,
               "asset_count": cnt, "remaining_life_years": 12.0, "quality_score": 80.0}
        rows = {k: np.concatenate([v, np.array([one[k]], dtype=v.dtype)]) for k, v in rows.items()}
    return rows


def _in(rows: dict[str, np.ndarray], prefix: str, lo: date, hi: date) -> np.ndarray:
    return (np.char.startswith(rows["region_code"].astype(str), prefix)
            & (rows["ordinal"] >= lo.toordinal()) & (rows["ordinal"] <= hi.toordinal()))


_BOOK_CODES = ("region", "industry", "ip_type")


def _new_book() -> dict[str, Any]:
    return {"years": [], **{c: [] for c in _BOOK_CODES}}


def _add_to_book(book: dict[str, Any], orig: Any, region: Any, industry: Any, ip_type: Any) -> None:
    """Loans' columns kept compact: the origination year as integers, each code column as its distinct
    values and an index into them."""
    book["years"].append(np.array(orig, dtype="datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)
    for c, values in zip(_BOOK_CODES, (region, industry, ip_type), strict=True):
        keys, index = np.unique(np.asarray(values).astype(str), return_inverse=True)
        book[c].append((keys, index.astype(np.int32)))


def _codes(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """A kept code column as an object array, each distinct code one shared string."""
    shared: dict[str, str] = {}
    out = np.empty(sum(len(i) for _, i in parts), dtype=object)
    at = 0
    for keys, index in parts:
        out[at: at + len(index)] = np.array([shared.setdefault(k, k) for k in keys.tolist()], dtype=object)[index]
        at += len(index)
    return out


def on_block(conn: Connection, ctx: Any, k: int, block: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Keep the columns of core block ``k``'s loans that :func:`_book` needs, so it need not read the book back."""
    loan = block["loan"]
    _add_to_book(ctx.state.setdefault("transactions_book", _new_book()), loan["origination_date"],
                 *(np.asarray(loan[c]).tolist() for c in ("region_code", "industry", "primary_ip_type")))
    return {}


def _book(conn: Connection, as_of: date, kept: dict[str, Any] | None = None,
          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The book's loans in id order (origination year, last day a row may fall on, region, industry, primary
    IP type; ``kept`` by :func:`on_block`, else read back) and collateral valuations per IP type (fen; ``*`` = all)."""
    lt, cv, ia = (Loan.__table__, CollateralValuation.__table__, IPAsset.__table__)  # type: ignore[attr-defined]
    book = kept
    if book is None:
        # raw driver rows (ISO text on SQLite, dates on PostgreSQL) read in chunks into compact columns: the
        # year as integers, the codes as one shared string each (a million loans' rows at once: ~0.8 GB)
        book = _new_book()
        res = conn.exec_driver_sql(
            f"SELECT origination_date, region_code, industry, primary_ip_type FROM {lt.name} ORDER BY id")
        while chunk := res.fetchmany(BOOK_CHUNK):
            _add_to_book(book, *zip(*chunk, strict=True))
    year = np.concatenate(book["years"]) if book["years"] else np.zeros(0, dtype=np.int64)
    region, industry, ip_type = (_codes(book[c]) for c in _BOOK_CODES)
    loans = {"year": year, "last": np.full(len(year), as_of.toordinal()),
             "region": region, "industry": industry, "ip_type": ip_type}
    vals = conn.execute(select(ia.c.ip_type, cv.c.value_fen).join(ia, ia.c.id == cv.c.ip_asset_id)
                        .where(cv.c.value_fen > 0).order_by(cv.c.id).limit(200_000)).all()
    types = np.array([str(t) for t, _ in vals], dtype=object)
    fen = np.array([int(v) for _, v in vals], dtype=float)
    values = {str(t): fen[types == t] for t in np.unique(types)} if len(vals) else {}
    values["*"] = fen if len(fen) else np.array([1_000_000_00.0])
    return loans, values


def extend(conn: Connection, ctx: Any) -> dict[str, int]:
    """Write the demo register rows (see the module docstring); their count."""
    if len(ctx.loan_ids) == 0:
        return {"ip_transactions_market": 0}
    loans, values = _book(conn, ctx.as_of, ctx.state.pop("transactions_book", None))
    rng = ctx.rng
    rows = _draw(rng, loans, values, round(ROWS_PER_LOAN * len(loans["year"])))
    rows = _calibrate(rng, rows, loans, values, _scale(conn, ctx.as_of), ctx.as_of)
    n = len(rows["kind"])
    order = np.argsort(rows["ordinal"], kind="stable")
    rows = {k: v[order] for k, v in rows.items()}
    created = datetime.combine(ctx.as_of, time(8, 0), tzinfo=UTC)
    cols: dict[str, Any] = {k: v for k, v in rows.items() if k != "ordinal"}
    cols["transaction_date"] = rows["ordinal"].astype(np.int64) - date(1970, 1, 1).toordinal()
    cols["transaction_date"] = cols["transaction_date"].astype("datetime64[D]")
    cols.update(ref=[f"demo-market-{i + 1:07d}" for i in range(n)], ipc_or_nice_class=[""] * n,
                source=[TransactionSource.import_.value] * n, owner_org_id=[ctx.org_ids["ipfin 平台管理"]] * n)
    return {"ip_transactions_market": bulk_insert(conn, IPTransactionRow, cols, ctx.batch, created)}
