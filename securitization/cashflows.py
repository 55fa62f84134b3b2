"""Deterministic pool cash flows after the Bond Market Association *Standard Formulas*.

Source: The Bond Market Association, *Uniform Practices / Standard Formulas*, chapter SF
("Standard Formulas for the Analysis of Mortgage-Backed Securities and Other Related
Securities", 02/01/99): B.2 prepayment models (SMM, CPR, PSA; SF-5..SF-10), B.4 ABS speeds
(SF-13), C.2-C.3 cash flows with defaults (SF-17..SF-19), C.4 the Standard Default
Assumption (SDA, SF-20..SF-21) and the two sample tables "Cash Flow A" (1% SMM / 1% MDR) and
"Cash Flow B" (150% PSA / 100% SDA) on SF-23..SF-38, which the tests reproduce to the unit.

Conventions (SF-17): defaults are a share (MDR) of the prior month's *performing* balance
before this month's scheduled amortisation; prepayments a share (SMM) of it after the
scheduled amortisation; defaulted loans sit in foreclosure for ``lag`` months and are then
liquidated with a loss of ``severity`` × the balance at default (capped by the amortised
default balance when the servicer advances principal and interest, 服务商垫付).

Everything here is vectorised over a leading batch axis (scenarios, or scenarios × loans):
assumption matrices of shape ``(n, months)`` in, cash-flow arrays of the same shape out, with
no loop over months: the performing balance is a cumulative product and the foreclosure
pipeline a sum of ``lag`` shifted default vectors (see :func:`project_bma`). Amounts are
floats (currency units) — the exact-fen boundary is the waterfall, which converts collections to integer fen once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

ScheduleType = Literal["annuity", "equal_principal", "bullet"]
"""等额本息 (level payment), 等额本金 (equal principal), 先息后本 (interest only, bullet)."""

# ------------------------------------------------------------------ rate conversions


def _check_fraction(name: str, x: np.ndarray, upper_inclusive: bool = True) -> None:
    if x.size == 0:
        return
    lo, hi = float(np.min(x)), float(np.max(x))  # NaN propagates into both
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name} must be finite")
    if lo < 0 or (hi > 1 if upper_inclusive else hi >= 1):
        raise ValueError(f"{name} must be a fraction in [0, 1]")


def cpr_to_smm(cpr: float | np.ndarray) -> np.ndarray:
    """SMM = 1 − (1 − CPR)^(1/12) (SF-6); both as fractions (6% CPR is 0.06)."""
    c = np.asarray(cpr, dtype=float)
    _check_fraction("cpr", c)
    return 1.0 - (1.0 - c) ** (1.0 / 12.0)


def smm_to_cpr(smm: float | np.ndarray) -> np.ndarray:
    """CPR = 1 − (1 − SMM)^12 (SF-6)."""
    s = np.asarray(smm, dtype=float)
    _check_fraction("smm", s)
    return 1.0 - (1.0 - s) ** 12


cdr_to_mdr = cpr_to_smm
"""MDR = 1 − (1 − CDR)^(1/12) (SF-21, same algebra as SMM from CPR)."""
mdr_to_cdr = smm_to_cpr


def psa_to_cpr(psa: float | np.ndarray, month: int | np.ndarray) -> np.ndarray:
    """CPR of ``psa``% PSA in loan ``month`` (1-based): min(PSA/100 × 0.2% × max(1, min(month, 30)), 100%)."""
    p = np.asarray(psa, dtype=float)
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("psa must be a finite, non-negative percentage of the PSA curve")
    m = np.maximum(1, np.minimum(np.asarray(month), 30))
    return np.minimum(p / 100.0 * 0.002 * m, 1.0)


def cpr_to_psa(cpr: float, month: int) -> float:
    """PSA speed (percent) that gives ``cpr`` in loan ``month`` (SF-8)."""
    return 100.0 * cpr / min(0.002 * month, 0.06)


def sda_to_cdr(sda: float | np.ndarray, month: int | np.ndarray) -> np.ndarray:
    """Annual default rate of ``sda``% SDA in loan ``month`` (SF-20..21).

    100% SDA: 0.02% × month up to 0.60% at month 30; flat 0.60% to month 60; down by 0.0095% a
    month to 0.03% at month 120; 0.03% after. (The 0% for the last months before maturity is
    rule C.3.j, applied by the projection, not by the curve.)
    """
    s = np.asarray(sda, dtype=float)
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sda must be a finite, non-negative percentage of the SDA curve")
    m = np.asarray(month, dtype=float)
    base = np.where(
        m <= 30,
        0.0002 * m,
        np.where(m <= 60, 0.006, np.where(m <= 120, 0.006 - 0.000095 * (m - 60), 0.0003)),
    )
    return np.minimum(s / 100.0 * base, 1.0)


def abs_to_smm(abs_speed: float, month: int) -> float:
    """ABS prepayment speed (percent of the original loan count a month) to SMM (fraction), SF-13:
    SMM = ABS / (100 − ABS × (month − 1)) with ABS in percent."""
    if not np.isfinite(abs_speed) or abs_speed < 0:
        raise ValueError("abs_speed must be a finite, non-negative percentage")
    denom = 100.0 - abs_speed * (month - 1)
    return 1.0 if denom <= abs_speed else abs_speed / denom


# ------------------------------------------------------------------ scheduled amortisation


def scheduled_balance_factors(
    schedule: ScheduleType, annual_rate: float, term_months: int, horizon: int, age: int = 0
) -> np.ndarray:
    """SCH AM(i)/SCH AM(0) for i = 0..horizon: scheduled balance with no prepayment or default.

    ``age`` months already elapsed (seasoned loan): the factors restart at 1 today. The level
    payment balance is BAL = [1 − (1 + r)^−(M0−i)] / [1 − (1 + r)^−M0] with r the monthly rate
    (SF-4). After maturity the factor is 0.
    """
    if term_months <= 0:
        raise ValueError("term_months must be positive")
    if not 0 <= age < term_months:
        raise ValueError("age must be in [0, term_months)")
    if not np.isfinite(annual_rate) or annual_rate < 0:
        raise ValueError("annual_rate must be finite and non-negative")
    i = np.arange(age, age + horizon + 1, dtype=float)
    m0 = float(term_months)
    if schedule == "annuity":
        # written with log1p/expm1 so a tiny rate does not turn 0/0 (1 + r rounds to 1) into NaN
        log_growth = np.log1p(annual_rate / 12.0)
        full = 1.0 - i / m0 if log_growth == 0 else np.expm1(-(m0 - i) * log_growth) / np.expm1(-m0 * log_growth)
    elif schedule == "equal_principal":
        full = 1.0 - i / m0
    elif schedule == "bullet":
        full = np.where(i < m0, 1.0, 0.0)
    else:
        raise ValueError(f"schedule must be annuity, equal_principal or bullet, not {schedule!r}")
    full = np.where(i >= m0, 0.0, np.maximum(full, 0.0))
    start = full[0]
    return full / start


# ------------------------------------------------------------------ projection


@dataclass(frozen=True)
class BMACashflows:
    """The SF-18 quantities for each row of a batch, each an array of shape ``(n, months)``.

    Index ``[:, k]`` is month k+1. ``performing_balance`` and ``foreclosure`` are end-of-month
    balances. Principal and interest *to the trust* are :attr:`principal_collected` and
    :attr:`interest_collected` (they include servicer advances when advancing is on).
    """

    performing_balance: np.ndarray
    new_defaults: np.ndarray
    foreclosure: np.ndarray
    expected_amortization: np.ndarray
    voluntary_prepayments: np.ndarray
    amortization_from_defaults: np.ndarray
    actual_amortization: np.ndarray
    expected_interest: np.ndarray
    interest_lost: np.ndarray
    actual_interest: np.ndarray
    principal_recovery: np.ndarray
    principal_loss: np.ndarray
    amortized_default_balance: np.ndarray
    advancing: bool

    @property
    def principal_collected(self) -> np.ndarray:
        """Scheduled principal (with advanced principal if advancing) + prepayments + recoveries."""
        sched = self.expected_amortization if self.advancing else self.actual_amortization
        return sched + self.voluntary_prepayments + self.principal_recovery

    @property
    def interest_collected(self) -> np.ndarray:
        """Interest to the trust: expected interest when advanced, else actual interest."""
        return self.expected_interest if self.advancing else self.actual_interest

    @property
    def pool_balance(self) -> np.ndarray:
        """Performing plus in-foreclosure balance at month end."""
        return self.performing_balance + self.foreclosure

    def totals(self) -> dict[str, np.ndarray]:
        """Column totals over the months (as the tables' "Total" row), per batch row."""
        return {
            f.name: getattr(self, f.name).sum(axis=-1)
            for f in fields(self)
            if f.name not in ("performing_balance", "foreclosure", "advancing")
        }


def _as_matrix(name: str, x: float | np.ndarray, n: int, months: int) -> np.ndarray:
    """Scalar → everywhere; shape (n,) → one rate per row; (1, months) or (n, months) → curves."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        if a.shape[0] != n:
            raise ValueError(f"{name}: a 1-D array gives one rate per row and needs length {n}")
        a = a[:, None]
    try:
        a = np.broadcast_to(a, (n, months))
    except ValueError as exc:
        raise ValueError(f"{name} must broadcast to shape ({n}, {months})") from exc
    _check_fraction(name, a)
    return a


def project_bma(
    balance: float | np.ndarray,
    balance_factors: np.ndarray,
    net_rate: float | np.ndarray,
    smm: float | np.ndarray,
    mdr: float | np.ndarray,
    severity: float | np.ndarray,
    lag: int,
    *,
    advancing: bool = True,
    months: int | None = None,
    remaining_term: int | None = None,
    zero_defaults_before_maturity: bool = True,
) -> BMACashflows:
    """Project the SF-18 cash flows for a batch of ``n`` rows over ``months`` months.

    ``balance``: (n,) or scalar starting performing balance. ``balance_factors``: SCH AM
    factors, shape (months+1,) shared or (n, months+1). ``net_rate``: annual rate paid to the
    trust (interest = balance × rate / 12). ``smm``/``mdr``: monthly rates, scalar, (n,) or
    (n, months). ``severity``: loss severity on the balance at default, scalar or (n,).
    ``lag``: months from default to liquidation. ``zero_defaults_before_maturity`` applies
    rule C.3.j (MDR = 0 in the last ``lag`` months before ``remaining_term``).
    """
    if lag < 0:
        raise ValueError("lag must be a non-negative number of months")
    bf = np.asarray(balance_factors, dtype=float)
    if months is None:
        months = bf.shape[-1] - 1
    if bf.shape[-1] < months + 1:
        raise ValueError("balance_factors must cover months + 1 points")
    bal = np.atleast_1d(np.asarray(balance, dtype=float))
    if not np.all(np.isfinite(bal)) or np.any(bal < 0):
        raise ValueError("balance must be finite and non-negative")
    n = bal.shape[0]
    sched = np.atleast_2d(bf[..., : months + 1])
    if sched.shape[0] not in (1, n):
        raise ValueError(f"balance_factors: needs 1 or {n} rows")
    smm_m = _as_matrix("smm", smm, n, months)
    mdr_m = np.array(_as_matrix("mdr", mdr, n, months))
    sev = np.broadcast_to(np.asarray(severity, dtype=float), (n,))
    _check_fraction("severity", sev)
    rate = np.broadcast_to(np.asarray(net_rate, dtype=float), (n,)) / 12.0
    if not np.all(np.isfinite(rate)) or np.any(rate < 0):
        raise ValueError("net_rate must be finite and non-negative")
    if zero_defaults_before_maturity and lag > 0:
        term = remaining_term if remaining_term is not None else months
        mdr_m[:, max(term - lag, 0) :] = 0.0

    # amortisation factor AF(i) = SCH(i)/SCH(i−1), 0 after the schedule ends
    inv = np.divide(1.0, sched, out=np.zeros(sched.shape), where=sched > 0)  # 1/SCH, 0 where SCH = 0
    af = sched[:, 1:] * inv[:, :-1]
    one_minus = 1.0 - af

    # Performing balance in closed form: PERF(i) = PERF(i−1)·AF(i)·max(1 − MDR(i) − SMM(i), 0), since
    # NEW DEF = PERF·MDR, ACT AM = (PERF − NEW DEF)(1 − AF) and VOL = PERF·AF·min(SMM, 1 − MDR) (SF-17 e cap).
    step = 1.0 - mdr_m
    step -= smm_m
    np.maximum(step, 0.0, out=step)
    step *= af
    perf_end = np.cumprod(step, axis=1)
    perf_end *= bal[:, None]
    perf_prev = np.empty_like(perf_end)
    perf_prev[:, 0] = bal
    perf_prev[:, 1:] = perf_end[:, :-1]
    newdef = perf_prev * mdr_m
    vol = np.minimum(smm_m, 1.0 - mdr_m)
    vol *= perf_prev
    vol *= af
    act_am = perf_prev - newdef
    act_am *= one_minus

    # A default of month j is liquidated in month j + lag at its amortised default balance
    # ADB = NEW DEF(j)·SCH(j+lag−1)/SCH(j−1); until then it sits in foreclosure, amortising on schedule when
    # P&I are advanced: FCL(i) = Σ_{j=i−lag+1..i} NEW DEF(j)·SCH(i)/SCH(j−1) = SCH(i)·(window sum of
    # q_j = NEW DEF(j)/SCH(j−1)), a difference of cumulative sums — no loop over months or lags.
    q = newdef * inv[:, :-1] if advancing else newdef
    window = np.cumsum(q, axis=1)
    if lag == 0:
        window[:] = 0.0
    elif lag < months:
        window[:, lag:] -= np.cumsum(q[:, : months - lag], axis=1)
    q_lag = np.zeros_like(q)
    if lag < months:
        q_lag[:, lag:] = q[:, : months - lag]
    if advancing:
        window *= sched[:, 1:]
        fcl_end = window
        adb = q_lag * sched[:, :-1]
        nd_lag = np.zeros_like(newdef)
        if lag < months:
            nd_lag[:, lag:] = newdef[:, : months - lag]
    else:
        fcl_end = window
        adb = nd_lag = q_lag
    fcl_prev = np.empty_like(fcl_end)
    fcl_prev[:, 0] = 0.0
    fcl_prev[:, 1:] = fcl_end[:, :-1]
    loss = np.minimum(nd_lag * sev[:, None], adb)
    recov = adb - loss
    np.maximum(recov, 0.0, out=recov)
    pool_prev = perf_prev + fcl_prev
    exp_am = pool_prev - adb
    exp_am *= one_minus
    nf = newdef + fcl_prev
    if advancing:
        am_def = nf - adb
        am_def *= one_minus
    else:
        am_def = np.zeros((n, months))
    exp_int = pool_prev
    exp_int *= rate[:, None]
    lost_int = nf
    lost_int *= rate[:, None]
    return BMACashflows(
        performing_balance=perf_end, new_defaults=newdef, foreclosure=fcl_end, expected_amortization=exp_am,
        voluntary_prepayments=vol, amortization_from_defaults=am_def, actual_amortization=act_am,
        expected_interest=exp_int, interest_lost=lost_int, actual_interest=exp_int - lost_int,
        principal_recovery=recov, principal_loss=loss, amortized_default_balance=adb, advancing=advancing,
    )


def project_bma_scalar(
    balance: float,
    balance_factors: list[float],
    net_rate: float,
    smm: list[float],
    mdr: list[float],
    severity: float,
    lag: int,
    *,
    advancing: bool = True,
    zero_defaults_before_maturity: bool = True,
) -> dict[str, list[float]]:
    """One row of :func:`project_bma` as a plain scalar Python loop, straight from SF-18/19.

    An independent reference for the tests and the "vectorised vs scalar" benchmark; not for
    production use.
    """
    months = len(smm)
    term = months
    r = net_rate / 12.0
    keys = ("performing_balance", "new_defaults", "foreclosure", "expected_amortization",
            "voluntary_prepayments", "amortization_from_defaults", "actual_amortization",
            "expected_interest", "interest_lost", "actual_interest", "principal_recovery",
            "principal_loss", "amortized_default_balance")
    out: dict[str, list[float]] = {k: [] for k in keys}
    perf, fcl = balance, 0.0
    nds: list[float] = []
    for k in range(months):
        i = k + 1
        s_prev, s_now = balance_factors[i - 1], balance_factors[i]
        a = s_now / s_prev if s_prev > 0 else 0.0
        rate_d = 0.0 if (zero_defaults_before_maturity and i > term - lag) else mdr[k]
        newdef = perf * rate_d
        nds.append(newdef)
        adb = loss = recov = 0.0
        if i >= lag + 1:
            nd = nds[i - lag - 1]
            if advancing:
                d = balance_factors[i - 1 - lag]
                adb = nd * (balance_factors[i - 1] / d) if d > 0 else 0.0
            else:
                adb = nd
            loss = min(nd * severity, adb)
            recov = max(adb - loss, 0.0)
        exp_am = (perf + fcl - adb) * (1 - a)
        am_def = (newdef + fcl - adb) * (1 - a) if advancing else 0.0
        act_am = (perf - newdef) * (1 - a)
        vol = min(perf * a * smm[k], max(perf - newdef - act_am, 0.0))
        exp_int = (perf + fcl) * r
        lost_int = (newdef + fcl) * r
        fcl = newdef + fcl - adb - am_def
        perf = perf - newdef - vol - act_am
        for key, v in zip(keys, (perf, newdef, fcl, exp_am, vol, am_def, act_am, exp_int, lost_int,
                                 exp_int - lost_int, recov, loss, adb), strict=True):
            out[key].append(v)
    return out


def psa_smm_matrix(psa: np.ndarray, months: int, age: int = 0) -> np.ndarray:
    """SMM matrix (len(psa), months) for PSA speeds, loan month = age + 1 .. age + months."""
    m = np.arange(age + 1, age + months + 1)
    return cpr_to_smm(psa_to_cpr(np.asarray(psa, dtype=float)[:, None], m[None, :]))


def sda_mdr_matrix(sda: np.ndarray, months: int, age: int = 0) -> np.ndarray:
    """MDR matrix (len(sda), months) for SDA speeds, loan month = age + 1 .. age + months."""
    m = np.arange(age + 1, age + months + 1)
    return cdr_to_mdr(sda_to_cdr(np.asarray(sda, dtype=float)[:, None], m[None, :]))
