"""Per-path tranche write-downs (分层损失分配) from simulated pool losses, vectorised, in integer fen.

A credit Monte Carlo (:func:`securitization.credit.simulate_pool_losses`) gives one pool
principal loss L per path. The loss-allocation waterfall writes it down in reverse order of
priority: first the over-collateralisation (超额抵押, pool balance − Σ notes), then the most
junior class, and so on up to the most senior. With the notes listed most senior first, the
class k with balance B_k attaches at A_k = OC + Σ_{j>k} B_j and detaches at D_k = A_k + B_k,
and its write-down on a path is the piecewise-linear

    W_k = min(max(L − A_k, 0), D_k − A_k)   (fen),

so Σ_k W_k = min(max(L − OC, 0), Σ_k B_k): the pool loss above the OC, capped at the notes'
total notional. All of it is integer arithmetic on ``int64`` columns (exact money).

What this models: principal losses only, sequentially by priority. Excess spread, the reserve
account, OC/IC triggers (turbo), interest shortfalls and the guarantor (差额支付) are not
credited — the same conservative convention as
:func:`securitization.credit.tranche_loss_stats`, which does this allocation in float CNY.
Classes of equal seniority (pro rata within a rank) are not supported: give a strict order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

INT64_MAX = int(np.iinfo(np.int64).max)


def pool_losses_to_fen(losses_cny: np.ndarray) -> np.ndarray:
    """Pool loss per path, CNY floats → ``int64`` fen, each path rounded half to even (``np.rint``).

    Parameters
    ----------
    losses_cny : array of float, shape (n_paths,)
        Simulated pool principal losses in CNY (finite, non-negative).

    Returns
    -------
    numpy.ndarray of int64, shape (n_paths,)

    Examples
    --------
    >>> pool_losses_to_fen(np.array([0.0, 1.25, 12.5])).tolist()
    [0, 125, 1250]
    """
    x = np.asarray(losses_cny, dtype=float)
    if x.ndim != 1:
        raise ValueError("losses_cny: must be one loss per path (1-D)")
    if x.size and not (np.all(np.isfinite(x)) and float(x.min()) >= 0):
        raise ValueError("losses_cny: must be finite and non-negative")
    if x.size and float(x.max()) * 100.0 >= 2.0**63:
        raise ValueError("losses_cny: too large for int64 fen")
    return np.rint(x * 100.0).astype(np.int64)


def _check_structure(note_balances_fen: Sequence[int], pool_balance_fen: int) -> list[int]:
    notes = [int(b) for b in note_balances_fen]
    if not notes:
        raise ValueError("note_balances_fen: at least one tranche is needed")
    for i, (b, raw) in enumerate(zip(notes, note_balances_fen, strict=True)):
        if isinstance(raw, bool) or b != raw or b < 0:
            raise ValueError(f"note_balances_fen[{i}]: must be a non-negative whole number of fen")
    if isinstance(pool_balance_fen, bool) or int(pool_balance_fen) != pool_balance_fen:
        raise ValueError("pool_balance_fen: must be a whole number of fen")
    if sum(notes) > pool_balance_fen:
        raise ValueError("note_balances_fen: the notes exceed the pool balance")
    if pool_balance_fen > INT64_MAX:
        raise ValueError("pool_balance_fen: too large for int64 fen")
    return notes


def tranche_write_downs(
    pool_loss_fen: np.ndarray, note_balances_fen: Sequence[int], pool_balance_fen: int
) -> np.ndarray:
    """Principal write-down of each tranche on each path (fen), loss absorbed junior first.

    Parameters
    ----------
    pool_loss_fen : array of int, shape (n_paths,)
        Pool principal loss per path in fen (non-negative; see :func:`pool_losses_to_fen`).
    note_balances_fen : sequence of int
        Original balance of each class of notes in fen, **most senior first** (优先A, 优先B, …, 次级).
    pool_balance_fen : int
        Pool balance at closing in fen (≥ Σ notes; the excess is over-collateralisation, lost first).

    Returns
    -------
    numpy.ndarray of int64, shape (n_paths, n_tranches)
        ``W[p, k] = min(max(L_p − A_k, 0), B_k)``; each row sums to min(max(L_p − OC, 0), Σ B).

    Examples
    --------
    Pool 1,000 fen, senior 700, junior 250, OC 50; losses of 40, 120 and 990 fen:

    >>> tranche_write_downs(np.array([40, 120, 990]), [700, 250], 1_000).tolist()
    [[0, 0], [0, 70], [690, 250]]
    """
    notes = _check_structure(note_balances_fen, pool_balance_fen)
    loss = np.asarray(pool_loss_fen)
    if loss.ndim != 1 or not np.issubdtype(loss.dtype, np.integer):
        raise ValueError("pool_loss_fen: must be a 1-D array of integer fen")
    loss = loss.astype(np.int64, copy=False)
    if loss.size and int(loss.min()) < 0:
        raise ValueError("pool_loss_fen: must be non-negative")
    out = np.empty((loss.size, len(notes)), dtype=np.int64)
    attach = int(pool_balance_fen) - sum(notes)  # over-collateralisation takes the first loss
    for k in range(len(notes) - 1, -1, -1):  # most junior first
        col = out[:, k]
        np.subtract(loss, attach, out=col)
        np.clip(col, 0, notes[k], out=col)
        attach += notes[k]
    return out


def tranche_expected_losses(
    write_downs_fen: np.ndarray, note_balances_fen: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected loss of each tranche as a fraction of its balance, its standard error, and P(loss > 0).

    Floats (statistics, not money): mean and sample standard deviation / √n over the paths.

    Examples
    --------
    >>> el, se, p = tranche_expected_losses(np.array([[0, 0], [0, 70], [690, 250]]), [700, 250])
    >>> [round(float(v), 4) for v in el], [round(float(v), 4) for v in p]
    ([0.3286, 0.4267], [0.3333, 0.6667])
    """
    w = np.asarray(write_downs_fen)
    b = np.array([int(x) for x in note_balances_fen], dtype=float)
    if w.ndim != 2 or w.shape[1] != b.size:
        raise ValueError("write_downs_fen: must have shape (n_paths, n_tranches)")
    if w.shape[0] < 2:
        raise ValueError("write_downs_fen: at least two paths are needed for a standard error")
    if np.any(b <= 0):
        raise ValueError("note_balances_fen: expected loss needs positive balances")
    frac = w / b
    return frac.mean(axis=0), frac.std(axis=0, ddof=1) / math.sqrt(w.shape[0]), (w > 0).mean(axis=0)
