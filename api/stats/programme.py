"""Read model of the dashboard's programme page (funds, bureaus, guarantors): what a rule costs each payer
on the book the viewer may see in aggregate, and the break-even fee beside the rule's cap.

A thin wrapper over :mod:`api.risk_sharing.cost` (the service of ``POST /rule-costs`` and
``/guarantee-fees``): the dashboard reads through ``api.stats`` and never runs SQL of its own.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from api.core.db import get_engine
from api.core.errors import FieldError
from api.identity.models import Organisation
from api.pledge.service import today
from api.risk_sharing import cost
from api.risk_sharing.models import RiskRule
from risk_sharing.presets import list_presets, load_preset


def rule_ids() -> list[tuple[str, str]]:
    """(rule id, name) of the shipped presets and the stored rule families (their latest version), by id."""
    out = {rid: load_preset(rid).name for rid in list_presets()}
    with Session(get_engine()) as s:
        for rid, name in s.exec(select(col(RiskRule.rule_id), col(RiskRule.name)).order_by(col(RiskRule.version))):
            out[str(rid)] = str(name)
    return sorted(out.items())


def programme_view(org: Organisation, rule_id: str, province_code: str | None, seed: int, n_paths: int,
                   years: int) -> dict[str, Any]:
    """``{"cost": <POST /rule-costs answer>, "fee": <POST /guarantee-fees answer or None if no loan is eligible>}``;
    a problem with the
    input (no loans, unknown rule, no eligible loan) comes back as ``{"error": field, "message": …}``."""
    common = {"rule_id": rule_id, "book": cost.BookFilter(province_code=province_code or None), "seed": seed,
              "n_paths": n_paths, "years": years}
    with Session(get_engine()) as s:
        try:
            body = cost.RuleCostRequest(**common)
            rule, data = cost.prepare(s, org, body, today())
            out = cost.run(rule, data, body)
            out_fee = cost.run(rule, data, cost.FeeRequest(**common, top=10)) if out["n_eligible"] else None
        except FieldError as exc:
            return {"error": exc.field, "message": str(exc)}
    return {"cost": out, "fee": out_fee}
