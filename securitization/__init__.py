"""IP securitisation (知识产权证券化): collateral pools, BMA Standard Formulas cash flows, an exact-fen
waterfall, Gaussian-copula credit Monte Carlo, tranche analytics and reference Chinese IP ABS deals.

Entry point for the API and CLI: :func:`securitization.deal.run_deal`. For notebooks, the
standard formulas on plain numbers: prepayment speed conversions (:func:`cpr_to_smm`,
:func:`psa_to_cpr`), the historical SMM/CPR of a pool from its factors (:func:`historical_smm`),
the scheduled balance factors, a BMA projection (:func:`project_bma`) and the Vasicek large-pool
loss distribution (:func:`vasicek_cdf`, :func:`vasicek_loss_quantile`).

Examples
--------
>>> from securitization import cpr_to_smm, historical_cpr, vasicek_loss_quantile
>>> round(float(cpr_to_smm(0.06)), 6)
0.005143
>>> [round(x, 2) for x in historical_cpr([1.0, 0.995, 0.990025])]
[0.06, 0.06]
>>> round(vasicek_loss_quantile(pd=0.02, rho=0.15, q=0.999), 4)
0.1763
"""

from .bma import historical_cpr, historical_smm, vasicek_loss_quantile
from .cashflows import cpr_to_smm, project_bma, psa_to_cpr, scheduled_balance_factors, smm_to_cpr
from .credit import vasicek_cdf
from .deal import Deal, DealRunResult, load_deal, reference_deals, run_deal

__all__ = [
    "Deal",
    "DealRunResult",
    "cpr_to_smm",
    "historical_cpr",
    "historical_smm",
    "load_deal",
    "project_bma",
    "psa_to_cpr",
    "reference_deals",
    "run_deal",
    "scheduled_balance_factors",
    "smm_to_cpr",
    "vasicek_cdf",
    "vasicek_loss_quantile",
]
