"""IP securitisation (知识产权证券化): collateral pools, BMA Standard Formulas cash flows, an exact-fen
waterfall, Gaussian-copula credit Monte Carlo, tranche analytics and reference Chinese IP ABS deals.

Entry point for the API and CLI: :func:`securitization.deal.run_deal`.
"""

from .deal import Deal, DealRunResult, load_deal, reference_deals, run_deal

__all__ = ["Deal", "DealRunResult", "load_deal", "reference_deals", "run_deal"]
