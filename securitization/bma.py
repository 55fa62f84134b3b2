"""Plain-number formulas of the BMA Standard Formulas and the Vasicek large pool, for notebooks.

* :func:`historical_smm` — the single monthly mortality of a pool from its reported factors (SF-5:
  the month's balance drop beyond scheduled amortisation), and :func:`historical_cpr`.
* :func:`vasicek_loss_quantile` — the loss fraction of a large homogeneous pool at a confidence
  level (the inverse of :func:`securitization.credit.vasicek_cdf`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.special import ndtr, ndtri


def historical_smm(factors: Sequence[float], scheduled: Sequence[float] | None = None) -> list[float]:
    """SMM of each month from pool factors: SMM_t = 1 − (F_t / F_t−1) / (S_t / S_t−1).

    ``factors`` are the reported pool factors (remaining balance ÷ original), month 0 first;
    ``scheduled`` the balance factors with no prepayment (e.g. from
    :func:`securitization.cashflows.scheduled_balance_factors`); without it the loans are taken as
    bullet loans (S_t = 1), so every drop is prepayment.

    Examples
    --------
    >>> [round(x, 6) for x in historical_smm([1.0, 0.99, 0.9801])]
    [0.01, 0.01]
    >>> [round(x, 6) for x in historical_smm([1.0, 0.95, 0.9], scheduled=[1.0, 0.98, 0.96])]
    [0.030612, 0.032895]
    """
    f = [float(x) for x in factors]
    s = [1.0] * len(f) if scheduled is None else [float(x) for x in scheduled]
    if len(f) < 2 or len(s) != len(f):
        raise ValueError("factors: give at least two months, and as many scheduled factors as factors")
    if any(not 0 <= x <= 1 for x in f) or any(not 0 < x <= 1 for x in s):
        raise ValueError("factors must be in [0, 1] and scheduled factors in (0, 1]")
    out = []
    for t in range(1, len(f)):
        if f[t - 1] == 0:
            raise ValueError(f"factors: the pool is paid off before month {t}")
        out.append(1.0 - (f[t] / f[t - 1]) / (s[t] / s[t - 1]))
    return out


def historical_cpr(factors: Sequence[float], scheduled: Sequence[float] | None = None) -> list[float]:
    """CPR of each month, CPR = 1 − (1 − SMM)^12, from the same inputs as :func:`historical_smm`.

    Examples
    --------
    >>> [round(x, 4) for x in historical_cpr([1.0, 0.99, 0.9801])]
    [0.1136, 0.1136]
    """
    return [1.0 - (1.0 - smm) ** 12 for smm in historical_smm(factors, scheduled)]


def vasicek_loss_quantile(pd: float, rho: float, q: float) -> float:
    """Loss fraction (of exposure, before recovery) not exceeded with probability ``q`` in a large
    homogeneous pool: Φ((Φ⁻¹(PD) + √ρ Φ⁻¹(q)) / √(1 − ρ)).

    Examples
    --------
    >>> round(vasicek_loss_quantile(0.02, 0.15, 0.999), 4)
    0.1763
    >>> from securitization.credit import vasicek_cdf
    >>> round(float(vasicek_cdf(vasicek_loss_quantile(0.02, 0.15, 0.99), 0.02, 0.15)), 6)
    0.99
    """
    if not (0 < pd < 1 and 0 < rho < 1 and 0 < q < 1):
        raise ValueError("pd, rho and q must each be in (0, 1)")
    return float(ndtr((ndtri(pd) + math.sqrt(rho) * ndtri(q)) / math.sqrt(1 - rho)))
