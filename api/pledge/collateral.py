"""Collateral facts, collateral valuations, the bank's pledge-rate policy and the maximum loan."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from api.audit import service as audit
from api.core.errors import FieldError
from api.identity.models import Organisation, User
from api.pledge import service as crud
from api.pledge.models import (
    CollateralValuation,
    PledgeIPFacts,
    PledgePolicyRow,
    ValuationSource,
)
from api.pledge.schemas import (
    CollateralValuationCreate,
    MaxLoanRequest,
    PledgeIPFactsUpdate,
)
from api.pledge.workflow import bank_policy, latest_valuation
from ipfin.money import cny_to_fen
from pledge.policy import CollateralValue, MaxLoanResult, PledgePolicy, max_loan


def set_ip_facts(session: Session, user: User, org: Organisation, asset_id: int, body: PledgeIPFactsUpdate
                 ) -> PledgeIPFacts:
    crud.get_ip_asset(session, org, asset_id)
    facts = session.get(PledgeIPFacts, asset_id) or PledgeIPFacts(ip_asset_id=asset_id)
    before = audit.snapshot(facts) if facts.expiry_date or facts.registered_owners else None
    for k, v in body.model_dump().items():
        setattr(facts, k, v)
    session.add(facts)
    audit.record(session, user, "ip_asset", asset_id, "set_pledge_facts", before=before, after=facts)
    return facts


def _stored_valuation(session: Session, org: Organisation, asset_id: int, valuation_id: int) -> Any:
    """The valuation engine's stored result ``valuation_id`` (same organisation and asset, succeeded)."""
    from api.valuation.models import Valuation

    v = session.get(Valuation, valuation_id)
    if v is None or v.owner_org_id != org.id:
        raise FieldError("valuation_id", f"no valuation {valuation_id} of your organisation")
    if v.ip_asset_id not in (None, asset_id):
        raise FieldError("valuation_id", f"valuation {valuation_id} is of IP asset {v.ip_asset_id}, not {asset_id}")
    if str(v.status) != "succeeded" or v.appraised_value_fen is None:
        raise FieldError("valuation_id", f"valuation {valuation_id} has no result yet (status {v.status})")
    return v


def stored_score(stored: Any) -> Decimal | None:
    """The indicator score total of a stored valuation's result (GB/T 42748-2023), to two decimals."""
    total = ((stored.result or {}).get("score") or {}).get("total")
    if total is None:
        return None
    return Decimal(str(total)).quantize(Decimal("0.01"))


def add_valuation(session: Session, user: User, org: Organisation, asset_id: int, body: CollateralValuationCreate
                  ) -> CollateralValuation:
    crud.get_ip_asset(session, org, asset_id)
    if body.source == ValuationSource.valuation:
        assert body.valuation_id is not None
        stored = _stored_valuation(session, org, asset_id, body.valuation_id)
        value, p5, day = stored.appraised_value_fen, stored.mc_p5_fen, stored.valuation_date
        score = body.score if body.score is not None else stored_score(stored)
    else:
        assert body.value_cny is not None and body.valuation_date is not None
        value = cny_to_fen(body.value_cny)
        p5 = cny_to_fen(body.p5_cny) if body.p5_cny is not None else None
        day = body.valuation_date
        score = body.score
    v = CollateralValuation(
        ip_asset_id=asset_id, value_fen=value, p5_fen=p5, score=score, valuation_date=day,
        source=body.source.value, valuation_id=body.valuation_id, report_reference=body.report_reference,
        created_by_user_id=user.id,
    )
    session.add(v)
    session.flush()
    audit.record(session, user, "ip_asset", asset_id, "add_valuation", after=v)
    return v


def compute_max_loan(session: Session, org: Organisation, body: MaxLoanRequest) -> MaxLoanResult:
    policy = bank_policy(session, org.id)  # type: ignore[arg-type]
    items: list[CollateralValue] = []
    try:
        for c in body.collateral:
            items.append(CollateralValue(c.asset_id, c.ip_type, c.score, cny_to_fen(c.value_cny),
                                         {5: cny_to_fen(c.p5_cny)} if c.p5_cny is not None else {}))
        for aid in body.ip_asset_ids:
            asset = crud.get_ip_asset(session, org, aid)
            val = latest_valuation(session, aid)
            if val is None:
                raise FieldError("ip_asset_ids", f"IP asset {aid} has no valuation on record")
            if val.score is None:
                raise FieldError("ip_asset_ids", f"the latest valuation of IP asset {aid} has no indicator score")
            items.append(CollateralValue(str(aid), str(asset.ip_type), Decimal(val.score), val.value_fen,
                                         {5: val.p5_fen} if val.p5_fen is not None else {}))
        return max_loan(policy, items)
    except FieldError:
        raise
    except ValueError as exc:
        raise FieldError("collateral", str(exc)) from exc


def set_policy(session: Session, user: User, org: Organisation, policy: PledgePolicy) -> PledgePolicyRow:
    policy = policy.model_copy(update={"bank_id": str(org.id)})
    row = session.get(PledgePolicyRow, org.id)
    before = row.policy if row else None
    if row is None:
        row = PledgePolicyRow(org_id=org.id, policy={})  # type: ignore[arg-type]
    row.policy = policy.model_dump(mode="json")
    row.updated_at = datetime.now(UTC)
    session.add(row)
    audit.record(session, user, "pledge_policy", org.id, "set", before=before, after=row.policy)
    return row
