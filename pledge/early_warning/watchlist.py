"""Scoring runs, the watchlist (关注名单) and score migration (评分迁移) between runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from pledge.early_warning.features import FeatureMatrix
from pledge.early_warning.model import Driver, Explanation, ScoreModel

# ------------------------------------------------------------------ runs, watchlist, migration

PD_BUCKET_EDGES: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.20)
"""Upper PD edges of the watchlist buckets: <1 %, 1–2 %, 2–5 %, 5–10 %, 10–20 %, ≥20 %."""


def pd_bucket(pd: np.ndarray, edges: Sequence[float] = PD_BUCKET_EDGES) -> np.ndarray:
    """Bucket index (0 = lowest PD) of each PD; a PD equal to an edge goes to the higher bucket."""
    return np.searchsorted(np.asarray(edges), np.asarray(pd), side="right")


def pd_bucket_labels(edges: Sequence[float] = PD_BUCKET_EDGES) -> tuple[str, ...]:
    e = [f"{x:.0%}" for x in edges]
    return (f"<{e[0]}", *(f"{a}-{b}" for a, b in pairwise(e)), f"≥{e[-1]}")


@dataclass(frozen=True, slots=True)
class ScoreRun:
    """One scoring run: PD per loan, rank (1 = highest PD, ties by input order), model version, data cut."""

    model_version: str
    data_cut: str
    loan_ids: np.ndarray
    pd: np.ndarray
    rank: np.ndarray
    features: FeatureMatrix
    explanation: Explanation | None


def run_rows(run: ScoreRun, top_k: int = 3, edges: Sequence[float] = PD_BUCKET_EDGES) -> list[dict[str, Any]]:
    """Plain rows for storing a run (one per loan): ids, PD, rank, bucket, model version, data cut, top drivers."""
    labels = pd_bucket_labels(edges)
    buckets = pd_bucket(run.pd, edges)
    out = []
    for i in range(run.pd.size):
        drivers = run.explanation.top_drivers(i, run.features, top_k) if run.explanation is not None else ()
        out.append({
            "loan_id": str(run.loan_ids[i]), "data_cut": run.data_cut, "model_version": run.model_version,
            "pd_12m": float(run.pd[i]), "rank": int(run.rank[i]), "bucket": labels[int(buckets[i])],
            "drivers": [{"feature": d.feature, "label_zh": d.label_zh, "value": d.value,
                         "contribution": d.contribution, "direction": d.direction} for d in drivers],
        })
    return out


def score_book(model: ScoreModel, X: FeatureMatrix, loan_ids: Sequence[str] | np.ndarray, data_cut: str,
               *, explain: bool = True) -> ScoreRun:
    """Score every loan in ``X`` and stamp the run with ``model.model_version`` and ``data_cut``."""
    ids = np.asarray(loan_ids).astype(str)
    if ids.shape != (X.n,):
        raise ValueError(f"loan_ids must have {X.n} entries")
    if np.unique(ids).size != ids.size:
        raise ValueError("loan_ids must be unique")
    pd = model.predict_pd(X)
    rank = np.empty(X.n, dtype=np.int64)
    rank[np.argsort(-pd, kind="stable")] = np.arange(1, X.n + 1)
    ex = model.explain(X) if explain and model.kind == "logistic" else None
    return ScoreRun(model.model_version, data_cut, ids, pd, rank, X, ex)


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    loan_id: str
    rank: int
    pd: float
    bucket: str
    alert: bool  # PD ≥ threshold
    new_alert: bool  # alerting now, not alerting (or absent) in the previous run
    previous_pd: float | None
    pd_change: float | None
    previous_rank: int | None
    rank_change: int | None  # positive = moved up the list (riskier)
    drivers: tuple[Driver, ...]


def build_watchlist(
    run: ScoreRun, *, alert_pd: float, previous: ScoreRun | None = None, top_n: int | None = None, top_k: int = 3,
    edges: Sequence[float] = PD_BUCKET_EDGES,
) -> tuple[WatchlistEntry, ...]:
    """The watchlist (关注名单): loans by rank with PD, alert flag (PD ≥ ``alert_pd``), top drivers, and
    change since ``previous``. ``top_n=None`` lists the alerting loans; otherwise the ``top_n`` riskiest.

    Examples
    --------
    >>> from pledge.early_warning import build_watchlist, fit_score_model, score_book, simulate_book
    >>> book = simulate_book(1000, seed=5, n_cuts=1)
    >>> m = fit_score_model(book.features, book.default)
    >>> run = score_book(m, book.features, book.loan_id, "2021-12-31")
    >>> wl = build_watchlist(run, alert_pd=0.5, top_n=2)
    >>> [e.rank for e in wl], len(wl[0].drivers)
    ([1, 2], 3)
    """
    if not 0.0 < alert_pd <= 1.0:
        raise ValueError("alert_pd must be in (0, 1]")
    order = np.argsort(run.rank, kind="stable")
    order = order[run.pd[order] >= alert_pd] if top_n is None else order[:top_n]
    labels = pd_bucket_labels(edges)
    buckets = pd_bucket(run.pd, edges)
    prev_index: dict[str, int] = {}
    if previous is not None:
        prev_index = {lid: i for i, lid in enumerate(previous.loan_ids.tolist())}
    out = []
    for i in order.tolist():
        lid = str(run.loan_ids[i])
        p = float(run.pd[i])
        pi = prev_index.get(lid)
        prev_pd = float(previous.pd[pi]) if previous is not None and pi is not None else None
        prev_rank = int(previous.rank[pi]) if previous is not None and pi is not None else None
        drivers = run.explanation.top_drivers(i, run.features, top_k) if run.explanation is not None else ()
        out.append(WatchlistEntry(
            lid, int(run.rank[i]), p, labels[int(buckets[i])], p >= alert_pd,
            p >= alert_pd and (prev_pd is None or prev_pd < alert_pd), prev_pd,
            None if prev_pd is None else p - prev_pd, prev_rank,
            None if prev_rank is None else prev_rank - int(run.rank[i]), drivers))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ScoreMigration:
    """PD-bucket migration between two runs, over the loans present in both.

    ``matrix[a, b]`` counts loans in bucket a before and b now; ``upgrades``/``downgrades`` count
    moves to a lower/higher PD bucket; ``n_new`` / ``n_exited`` loans appear in only one run.
    """

    labels: tuple[str, ...]
    matrix: np.ndarray
    loan_ids: np.ndarray
    pd_change: np.ndarray
    rank_change: np.ndarray
    n_new: int
    n_exited: int

    @property
    def downgrades(self) -> int:
        return int(np.triu(self.matrix, 1).sum())

    @property
    def upgrades(self) -> int:
        return int(np.tril(self.matrix, -1).sum())


def score_migration(previous: ScoreRun, current: ScoreRun,
                    edges: Sequence[float] = PD_BUCKET_EDGES) -> ScoreMigration:
    """Score migration (评分迁移) since the last run: bucket matrix, PD and rank change per common loan."""
    common, ip, ic = np.intersect1d(previous.loan_ids, current.loan_ids, assume_unique=True, return_indices=True)
    k = len(edges) + 1
    a = pd_bucket(previous.pd[ip], edges)
    b = pd_bucket(current.pd[ic], edges)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (a, b), 1)
    return ScoreMigration(pd_bucket_labels(edges), matrix, common, current.pd[ic] - previous.pd[ip],
                          previous.rank[ip] - current.rank[ic], int(current.loan_ids.size - common.size),
                          int(previous.loan_ids.size - common.size))
