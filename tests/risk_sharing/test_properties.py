"""Property tests (hypothesis): exact splits and capped recoveries for any valid input."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from risk_sharing.recovery import share_recovery
from risk_sharing.rules import PartyRole, RecoveryPolicy, Rule
from risk_sharing.splitting import split_loss

ROLES = list(PartyRole)
FEN = st.integers(min_value=0, max_value=10**13)  # up to 100 bn CNY


@st.composite
def share_vectors(draw: st.DrawFn) -> list[Decimal]:
    """n ∈ [1, 8] shares in basis points (0.01%) summing to exactly 100%."""
    n = draw(st.integers(1, 8))
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, 10_000]
    return [Decimal(b - a) / 100 for a, b in itertools.pairwise(bounds)]


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    shares = draw(share_vectors())
    parties = [
        {"key": f"p{i}", "role": draw(st.sampled_from(ROLES)).value, "share": str(s)} for i, s in enumerate(shares)
    ]
    residual = f"p{draw(st.integers(0, len(shares) - 1))}"
    return Rule.model_validate(
        {
            "id": "prop",
            "name": "property rule",
            "version": 1,
            "effective_from": date(2020, 1, 1),
            "parties": parties,
            "residual_bearer": residual,
            "compensation_parties": [p["key"] for p in parties if p["key"] != residual],
            "cap_overflow": draw(st.sampled_from(["residual_bearer", "pro_rata_uncapped"])),
        }
    )


@settings(max_examples=300, deadline=None)
@given(rule=rules(), loss=FEN)
def test_any_loss_and_share_vector_splits_into_non_negative_parts_summing_to_the_base(rule: Rule, loss: int) -> None:
    split = split_loss(rule, loss)
    parts = [p.payable_fen for p in split.parties]
    assert all(x >= 0 for x in parts)
    assert sum(parts) == loss
    # without caps each part is its largest-remainder share: within 1 fen of loss × share
    for p in split.parties:
        assert abs(p.payable_fen - loss * p.share / 100) < 1


@settings(max_examples=300, deadline=None)
@given(rule=rules(), loss=FEN, data=st.data())
def test_caps_keep_parts_exact_and_within_every_headroom(rule: Rule, loss: int, data: st.DataObject) -> None:
    comp = rule.compensator_keys
    heads = {k: data.draw(FEN) for k in comp if data.draw(st.booleans())}
    agg = {"aggregate": data.draw(FEN)} if data.draw(st.booleans()) else {}
    split = split_loss(rule, loss, party_headroom_fen=heads, compensation_headroom_fen=agg)
    parts = {p.key: p.payable_fen for p in split.parties}
    assert all(x >= 0 for x in parts.values())
    assert sum(parts.values()) == loss
    for k, h in heads.items():
        assert parts[k] <= h
    if agg:
        assert split.compensation_fen <= agg["aggregate"]
    nominal = {p.key: p.nominal_fen for p in split.parties}
    if rule.cap_overflow.value == "residual_bearer":
        assert all(parts[k] <= nominal[k] for k in comp)  # caps only ever lower a compensator's part


@st.composite
def recovery_cases(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, int], int, int]:
    n = draw(st.integers(1, 6))
    paid = {f"p{i}": draw(FEN) for i in range(n)}
    already = {k: draw(st.integers(0, v)) for k, v in paid.items()}
    gross = draw(FEN)
    costs = draw(st.integers(0, gross))
    return paid, already, gross, costs


@settings(max_examples=300, deadline=None)
@given(case=recovery_cases(), priority=st.booleans())
def test_recoveries_never_exceed_what_each_party_paid(
    case: tuple[dict[str, int], dict[str, int], int, int], priority: bool
) -> None:
    paid, already, gross, costs = case
    policy = RecoveryPolicy(kind="priority", priority=("p0",)) if priority else RecoveryPolicy()
    s = share_recovery(policy, paid, gross, disposal_costs_fen=costs, already_recovered_fen=already)
    owed = {k: paid[k] - already[k] for k in paid}
    assert all(0 <= s.parts[k] <= owed[k] for k in paid)
    assert sum(s.parts.values()) + s.surplus_fen == s.net_fen == gross - costs  # cash in = cash out
    if s.surplus_fen > 0:
        assert s.parts == owed  # a surplus only once everyone is made whole
    else:
        assert sum(s.parts.values()) == s.net_fen
