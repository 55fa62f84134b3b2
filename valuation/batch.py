"""Value many assets from a JSON, CSV or XLSX file, with a progress callback.

JSON: one request object, a list of them, or ``{"requests": [...]}`` (nested as
:class:`~valuation.request.ValuationRequest`). CSV/XLSX: one asset per row with flat columns
(see :data:`FLAT_COLUMNS`); empty cells fall back to the defaults. Each asset is validated and
valued on its own: a bad row is reported with its error and does not stop the batch.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ipfin.executor import Executor

from .engine import value_asset
from .request import ValuationRequest
from .result import ValuationResult

ProgressFn = Callable[[int, int, str], None]

# flat column -> path in the nested request
FLAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "ip_type": ("asset", "ip_type"),
    "identifier": ("asset", "identifier"),
    "title": ("asset", "title"),
    "legal_status": ("asset", "legal_status"),
    "filing_date": ("asset", "filing_date"),
    "grant_date": ("asset", "grant_date"),
    "registration_date": ("asset", "registration_date"),
    "publication_date": ("asset", "publication_date"),
    "family_size": ("asset", "family_size"),
    "claims": ("asset", "claims"),
    "industry": ("asset", "industry"),
    "valuation_date": ("valuation_date",),
    "base_revenue_cny": ("economics", "base_revenue_cny"),
    "revenue_growth": ("economics", "revenue_growth"),
    "revenue_volatility": ("economics", "revenue_volatility"),
    "profit_margin": ("economics", "profit_margin"),
    "tax_rate": ("economics", "tax_rate"),
    "risk_free": ("discount", "risk_free"),
    "technical_premium": ("discount", "technical"),
    "market_premium": ("discount", "market"),
    "funding_premium": ("discount", "funding"),
    "management_premium": ("discount", "management"),
    "legal_premium": ("discount", "legal"),
    "income_method": ("income", "method"),
    "royalty_low": ("income", "royalty", "low"),
    "royalty_mode": ("income", "royalty", "mode"),
    "royalty_high": ("income", "royalty", "high"),
    "profit_share": ("income", "profit_share"),
    "economic_life_years": ("income", "economic_life_years"),
    "mid_year": ("income", "mid_year"),
    "life_low": ("monte_carlo", "life_years", "low"),
    "life_mode": ("monte_carlo", "life_years", "mode"),
    "life_high": ("monte_carlo", "life_years", "high"),
    "success_probability": ("monte_carlo", "success_probability"),
    "annual_hazard": ("monte_carlo", "annual_hazard"),
    "discount_rate_sd": ("monte_carlo", "discount_rate_sd"),
    "loan_amount_cny": ("monte_carlo", "loan_amount_cny"),
    "paths": ("monte_carlo", "paths"),
    "seed": ("monte_carlo", "seed"),
}
_MONEY_COLUMNS = {"base_revenue_cny", "loan_amount_cny"}
_TEXT_COLUMNS = {"ip_type", "identifier", "title", "legal_status", "filing_date", "grant_date", "registration_date",
                 "publication_date", "industry", "valuation_date", "income_method"}


def _cell(name: str, v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
    if name in _TEXT_COLUMNS or name in _MONEY_COLUMNS:
        return v.isoformat() if hasattr(v, "isoformat") else str(v)
    if name == "mid_year":
        return str(v).lower() in ("1", "true", "yes", "y")
    return v  # numbers as text are parsed by pydantic; NaN/inf text is rejected there


def flat_to_request(row: Mapping[str, Any]) -> dict[str, Any]:
    """Nest one flat row (CSV/XLSX) into a request dict; unknown columns raise ValueError."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if not name or value is None or (isinstance(value, str) and not value.strip()):
            continue
        key = str(name).strip()
        if key not in FLAT_COLUMNS:
            raise ValueError(f"unknown column {key!r}")
        node = out
        path = FLAT_COLUMNS[key]
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = _cell(key, value)
    return out


def load_requests(path: str | Path) -> list[dict[str, Any]]:
    """Read request dicts from a .json, .csv or .xlsx file (validation happens when valuing)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        data = json.loads(p.read_text("utf-8"))
        if isinstance(data, dict) and "requests" in data:
            data = data["requests"]
        return data if isinstance(data, list) else [data]
    if suffix == ".csv":
        with p.open(encoding="utf-8-sig", newline="") as f:
            return [flat_to_request(r) for r in csv.DictReader(f)]
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(p, read_only=True, data_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        return [flat_to_request(dict(zip(header, r, strict=False))) for r in rows[1:] if any(c is not None for c in r)]
    raise ValueError(f"input must be .json, .csv or .xlsx, not {suffix!r}")


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One asset's outcome: a result, or the validation/valuation error."""

    index: int
    identifier: str
    result: ValuationResult | None
    error: str | None


def value_many(
    requests: Iterable[Mapping[str, Any]],
    *,
    paths: int | None = None,
    seed: int | None = None,
    progress: ProgressFn | None = None,
    executor: Executor | None = None,
) -> list[BatchItem]:
    """Validate and value each request; ``paths``/``seed`` override the Monte Carlo settings.

    ``progress(done, total, identifier)`` is called after each asset.
    """
    reqs = list(requests)
    out: list[BatchItem] = []
    for i, raw in enumerate(reqs):
        data = dict(raw)
        ident = str(data.get("asset", {}).get("identifier", f"#{i + 1}"))
        if paths is not None or seed is not None:
            mc = dict(data.get("monte_carlo", {}))
            if paths is not None:
                mc["paths"] = paths
            if seed is not None:
                mc["seed"] = seed
            data["monte_carlo"] = mc
        try:
            result = value_asset(ValuationRequest.model_validate(data), executor=executor)
            out.append(BatchItem(i, ident, result, None))
        except (ValidationError, ValueError) as exc:
            out.append(BatchItem(i, ident, None, str(exc)))
        if progress is not None:
            progress(i + 1, len(reqs), ident)
    return out
