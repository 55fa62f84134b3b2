"""The statistics rollups (汇总表) of the demo book, summed from the generator's blocks while they are
in memory, instead of ``rollup.rebuild``'s GROUP BYs over the whole book after the load.

``api.demo`` loads with the rollup triggers dropped. Rebuilding both rollups from a million loans
and 1.5 million collateral links with ``rollup.rebuild`` costs more CPU than generating the loans
(the registration rollup's correlated first-registration look-up and a sort of the book per grain);
:class:`BookRollup` sums each block's contributions per (grain key, origination day, term) and per
(grain key, registration day) — sparse integer sums, merged as they grow: with the two-dimension
grains there are over a thousand grain keys, too many cells for dense arrays — and
:meth:`BookRollup.write` inserts the non-empty cells once, in primary-key order (``api.demo`` runs this in a
child process, into a scratch file it then copies in).

``rollup.rebuild`` stays the one definition. The sums here follow ``rollup.METRICS`` and the
registration rollup's SELECT (every funded loan once per grain; a loan's registrations on their
own days, the loan and its principal on its first registration day), and
``tests/api/test_demo_data.py`` checks that the rows written are exactly the rows ``rollup.rebuild``
gives for the same book. :data:`DEFINITION` fingerprints the SQL ``rollup.rebuild`` runs: when that
changes (or a block holds anything this module does not expect: an unknown key, term or day, a
maturity not following from origination and term), :meth:`BookRollup.write` writes nothing and the
load calls ``rollup.rebuild`` instead — slower, never wrong — and the test fails until this module
follows the new definition.
Money in fen (int64: exact).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from api.stats import rollup
from api.stats.filters import FUNDED_STATUSES, LIVE_STATUSES, NPL_DAYS_PAST_DUE, NPL_STATUSES
from api.stats.models import LoanRollup, RegistrationRollup

DEFINITION = "11f3eef3d858df9e"
"""First 16 hex digits of the SHA-256 of the statements ``rollup.rebuild`` runs (see :func:`fingerprint`)."""
REG_COLUMNS = ("registration_count", "pledged_value_fen", "loan_count", "amount_fen")
RARE_METRICS = frozenset({"defaulted_count", "defaulted_amount_fen", "npl_count", "npl_outstanding_fen",
                          "undated_npl_count", "undated_npl_outstanding_fen", "undated_npl_amount_fen"})
"""Metrics most loans add nothing to (defaulted, non-performing): summed apart, for the loans with any of
them only, so the sums of every cell hold the other columns alone (memory at 1M loans)."""


def fingerprint() -> str:
    """Fingerprint of the rollups' definition: the statements ``rollup.rebuild`` runs."""
    return hashlib.sha256("\n".join(rollup.rebuild_statements()).encode()).hexdigest()[:16]


def _lookup(vocab: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each value in the sorted ``vocab``, and whether it is there."""
    i = np.clip(np.searchsorted(vocab, values), 0, len(vocab) - 1)
    return i, vocab[i] == values


class BookRollup:
    """Both rollups of a book, summed block by block (see the module docstring).

    ``keys``: every dimension's possible values (``bank``: organisation ids as text; a pair grain's keys
    are every two values joined by ``rollup.SEPARATOR``); ``terms``: the possible terms (months);
    origination and registration days from ``first_day`` to ``as_of``.
    """

    def __init__(self, keys: Mapping[str, Sequence[Any]], terms: Sequence[int], first_day: date, as_of: date) -> None:
        vocab = {g: sorted(_grain_keys(g, keys)) for g in rollup.GRAINS}
        self.pairs = sorted((g, k) for g in rollup.GRAINS for k in vocab[g])
        self.grain_vocab = {g: np.array(vocab[g]) for g in rollup.GRAINS if g != "all"}
        self.grain_offset = {g: next(i for i, (h, _) in enumerate(self.pairs) if h == g) for g in rollup.GRAINS}
        self.terms = np.array(sorted(terms), dtype=np.int64)
        self.day0 = np.datetime64(first_day, "D")
        self.n_days = int((np.datetime64(as_of, "D") - self.day0).astype(np.int64)) + 1
        self.metrics = list(rollup.METRICS)
        self.common = [m for m in self.metrics if m not in RARE_METRICS]
        self.rare = [m for m in self.metrics if m in RARE_METRICS]
        starts = sorted(self.grain_offset.values())[1:]  # each grain's first row of ``pairs``: a range each
        self.loans = _Sums(len(self.common), [k * self.n_days * len(self.terms) for k in starts])
        self.rare_loans = _Sums(len(self.rare), [k * self.n_days * len(self.terms) for k in starts])
        self.regs = _Sums(len(REG_COLUMNS), [k * self.n_days for k in starts])
        self.exact = True

    # ---- adding a block

    def _key_rows(self, loan: dict[str, Any]) -> np.ndarray | None:
        """Per loan, its row of ``pairs`` for each grain (grains × loans), or None if a key is unknown."""
        columns = {"province": "province_code", "industry": "industry", "ip_type": "primary_ip_type",
                   "bank": "bank_org_id"}
        if set(columns) != set(rollup.DIMENSIONS):  # a dimension this module does not know
            return None
        values = {g: np.asarray(loan[c]).astype(str) for g, c in columns.items()}
        for g, (a, b) in rollup.PAIRS.items():
            values[g] = np.char.add(np.char.add(values[a], rollup.SEPARATOR), values[b])
        out = []
        for g in rollup.GRAINS:
            if g == "all":
                out.append(np.full(len(loan["id"]), self.grain_offset[g]))
                continue
            i, ok = _lookup(self.grain_vocab[g], values[g])
            if not ok.all():
                return None
            out.append(self.grain_offset[g] + i)
        return np.stack(out)

    def _loan_metrics(self, loan: dict[str, Any]) -> dict[str, np.ndarray]:
        """Each loan's contribution to every ``rollup.METRICS`` column (int64, fen)."""
        status = np.asarray(loan["status"]).astype(str)
        amount = np.asarray(loan["amount_fen"], dtype=np.int64)
        out = np.asarray(loan["outstanding_fen"], dtype=np.int64)
        live = np.isin(status, LIVE_STATUSES)
        npl = np.isin(status, NPL_STATUSES) | (np.asarray(loan["days_past_due"], dtype=np.int64) > NPL_DAYS_PAST_DUE)
        dated = ~np.isnat(np.asarray(loan["default_date"], dtype="datetime64[D]"))
        cols: dict[str, np.ndarray] = {"loan_count": np.ones(len(amount), np.int64), "amount_fen": amount,
                                       "outstanding_fen": out}
        for cny, (count, total) in rollup.INCLUSIVE_COLUMNS.items():
            cols[count], cols[total] = amount <= cny * 100, amount * (amount <= cny * 100)
        cols.update({
            "defaulted_count": dated, "defaulted_amount_fen": amount * dated,
            "live_count": live, "live_outstanding_fen": out * live,
            "npl_count": live & npl, "npl_outstanding_fen": out * (live & npl),
            "undated_npl_count": ~dated & npl, "undated_npl_outstanding_fen": out * (~dated & npl),
            "undated_npl_amount_fen": amount * (~dated & npl),
        })
        return {k: np.asarray(v, dtype=np.int64) for k, v in cols.items()}

    def add(self, block: dict[str, dict[str, Any]]) -> None:
        """Add a block's funded loans and their registrations (``api.demo.make_block``'s columns)."""
        from api.demo import _add_months

        if not self.exact:
            return
        loan, links = block["loan"], block["loan_collateral"]
        orig = np.asarray(loan["origination_date"], dtype="datetime64[D]")
        term = np.asarray(loan["term_months"], dtype=np.int64)
        day = (orig - self.day0).astype(np.int64)
        ti, term_ok = _lookup(self.terms, term)
        rows = self._key_rows(loan)
        metrics = self._loan_metrics(loan)
        counted = np.isin(np.asarray(loan["status"]).astype(str), FUNDED_STATUSES)
        ok = (term_ok & (day >= 0) & (day < self.n_days)
              & (np.asarray(loan["maturity_date"], dtype="datetime64[D]") == _add_months(orig, term)))
        if rows is None or not ok[counted].all() or set(metrics) != set(self.metrics):
            self.exact = False
            return
        vals = np.column_stack([metrics[k] for k in self.common])[counted]
        rare = np.column_stack([metrics[k] for k in self.rare])[counted]
        some = rare.any(axis=1)
        for grain_rows in rows:  # grain by grain: a block's copy is one grain's rows, not all of them
            cells = (grain_rows[counted] * self.n_days + day[counted]) * len(self.terms) + ti[counted]
            self.loans.add(cells, vals)
            self.rare_loans.add(cells[some], rare[some])
        self._add_registrations(loan, links, rows, counted)

    def _add_registrations(self, loan: dict[str, Any], links: dict[str, Any], rows: np.ndarray,
                           counted: np.ndarray) -> None:
        ids = np.asarray(loan["id"], dtype=np.int64)
        pos, known = _lookup(ids, np.asarray(links["loan_id"], dtype=np.int64))
        reg = np.asarray(links["pledge_registered_on"], dtype="datetime64[D]")
        value = np.asarray(links["appraised_value_fen"])
        has = ~np.isnat(reg)
        day = (reg - self.day0).astype(np.int64)
        if (not known.all() or value.dtype.kind not in "iu" or not np.all(np.diff(ids) > 0)
                or not ((day[has] >= 0) & (day[has] < self.n_days)).all()):
            self.exact = False
            return
        first = np.full(len(ids), np.iinfo(np.int64).max)
        np.minimum.at(first, pos[has], day[has])
        a = has & counted[pos]  # registrations of funded loans
        f = counted & (first < np.iinfo(np.int64).max)  # funded loans with a registration: on their first day
        amount = np.asarray(loan["amount_fen"], dtype=np.int64)
        vals = np.concatenate([
            np.column_stack([np.ones(int(a.sum()), np.int64), value[a].astype(np.int64),
                             np.zeros((int(a.sum()), 2), np.int64)]),
            np.column_stack([np.zeros((int(f.sum()), 2), np.int64), np.ones(int(f.sum()), np.int64), amount[f]]),
        ])
        for grain_rows in rows:
            self.regs.add(np.concatenate([grain_rows[pos[a]] * self.n_days + day[a],
                                          grain_rows[f] * self.n_days + first[f]]), vals)

    # ---- writing

    def write(self, conn: Connection, batch: int = 20_000) -> bool:
        """Insert both rollups' rows into the (empty) tables on ``conn`` (True); False, writing nothing, when
        the sums may not be exact (the caller then runs ``rollup.rebuild`` over the loans)."""
        from api.demo import _add_months, bulk_insert

        if not self.exact or fingerprint() != DEFINITION:
            return False
        n_terms = len(self.terms)
        grain, key = (np.array([p[i] for p in self.pairs], dtype=object) for i in (0, 1))
        common = np.array([self.metrics.index(m) for m in self.common])
        rare_at = np.array([self.metrics.index(m) for m in self.rare])
        for r, ((all_cells, sums), (rare_cells, rare)) in enumerate(zip(self.loans.parts(), self.rare_loans.parts(),
                                                                        strict=True)):
            for lo in range(0, len(all_cells), batch):  # a chunk of one grain's rows, all the columns
                cells = all_cells[lo: lo + batch]
                chunk = np.zeros((len(cells), len(self.metrics)), np.int64)
                chunk[:, common] = sums[lo: lo + batch]
                a, b = np.searchsorted(rare_cells, cells[0]), np.searchsorted(rare_cells, cells[-1], side="right")
                at = np.searchsorted(cells, rare_cells[a:b])  # every loan with a rare figure is also counted
                chunk[np.ix_(at, rare_at)] = rare[a:b]
                keep = chunk[:, self.metrics.index("loan_count")] > 0  # rebuild: groups of ≥ 1 loan
                pair, rest = np.divmod(cells[keep], self.n_days * n_terms)
                day, ti = np.divmod(rest, n_terms)
                orig, term = self.day0 + day.astype("timedelta64[D]"), self.terms[ti]
                bulk_insert(conn, LoanRollup, {
                    "grain": grain[pair], "grain_key": key[pair], "origination_date": orig, "term_months": term,
                    "maturity_date": _add_months(orig, term),
                    **{m: chunk[keep, j] for j, m in enumerate(self.metrics)},
                }, batch)
            self.loans.free(r)
            self.rare_loans.free(r)
        for r, (all_cells, sums) in enumerate(self.regs.parts()):
            for lo in range(0, len(all_cells), batch):
                keep = sums[lo: lo + batch, 0] > 0  # rebuild: groups of ≥ 1 registration
                pair, day = np.divmod(all_cells[lo: lo + batch][keep], self.n_days)
                bulk_insert(conn, RegistrationRollup, {
                    "grain": grain[pair], "grain_key": key[pair],
                    "registered_on": self.day0 + day.astype("timedelta64[D]"),
                    **{m: sums[lo: lo + batch][keep, j] for j, m in enumerate(REG_COLUMNS)},
                }, batch)
            self.regs.free(r)
        return True


def _grain_keys(grain: str, keys: Mapping[str, Sequence[Any]]) -> list[str]:
    """Every key of ``grain``: ``""`` for ``all``, a dimension's values, or a pair's values joined."""
    if grain == "all":
        return [""]
    if grain in rollup.PAIRS:
        a, b = rollup.PAIRS[grain]
        return [f"{x}{rollup.SEPARATOR}{y}" for x in keys[a] for y in keys[b]]
    return [str(k) for k in keys[grain]]


def _summed(cells: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``cells`` in increasing order and each one's ``vals`` summed (sort, then sum each run)."""
    if len(cells) == 0:
        return cells, vals
    order = np.argsort(cells, kind="stable")
    cells = cells[order]
    start = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    return cells[start], np.add.reduceat(vals[order], start, axis=0)


class _Sums:
    """Integer sums (int64, ``width`` columns) per cell number, sparse and sorted, kept per range of cell
    numbers (``bounds``: one range per grain). A block's cells are summed, then added in place to the cells
    already held (a binary search each) and only new cells inserted, into their own range's arrays: memory
    stays the size of the sums plus one range's copy (issue 17: ≤ 1 GB at 1M loans)."""

    def __init__(self, width: int, bounds: Sequence[int]) -> None:
        self.bounds = np.asarray(bounds, np.int64)
        self.cells = [np.empty(0, np.int64) for _ in range(len(bounds) + 1)]
        self.vals = [np.empty((0, width), np.int64) for _ in range(len(bounds) + 1)]

    def add(self, cells: np.ndarray, vals: np.ndarray) -> None:
        cells, vals = _summed(np.asarray(cells, np.int64), np.asarray(vals, np.int64))
        edges = [0, *np.searchsorted(cells, self.bounds).tolist(), len(cells)]
        for r in range(len(self.cells)):
            c, v = cells[edges[r]:edges[r + 1]], vals[edges[r]:edges[r + 1]]
            if len(c):
                self._merge(r, c, v)

    def _merge(self, r: int, c: np.ndarray, v: np.ndarray) -> None:
        held = self.cells[r]
        at = np.searchsorted(held, c)
        hit = at < len(held)
        hit[hit] = held[at[hit]] == c[hit]
        self.vals[r][at[hit]] += v[hit]  # distinct cells: no index repeats
        new = ~hit
        if new.any():
            self.cells[r] = np.insert(held, at[new], c[new])
            self.vals[r] = np.insert(self.vals[r], at[new], v[new], axis=0)

    def parts(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per range, in increasing order: its distinct cells and their sums."""
        yield from zip(self.cells, self.vals, strict=True)

    def free(self, r: int) -> None:
        """Forget range ``r`` (written)."""
        self.cells[r], self.vals[r] = self.cells[r][:0].copy(), self.vals[r][:0].copy()
