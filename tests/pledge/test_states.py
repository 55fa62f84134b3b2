"""The pledge-loan state machine: table, illegal moves, maker-checker, guards, audit content."""

from __future__ import annotations

from datetime import date

import pytest

from pledge.states import (
    ACTIONS,
    TERMINAL_STATES,
    TRANSITIONS,
    Actor,
    GuardFailed,
    IllegalTransition,
    LoanState,
    MakerCheckerViolation,
    MissingRole,
    Role,
    TransitionContext,
    WrongBank,
    allowed_actions,
    apply_transition,
    reachable_states,
    transition_table,
)

D = date(2026, 3, 2)
MAKER = Actor("alice", frozenset({Role.MAKER}), "bank-a")
APPROVER = Actor("bob", frozenset({Role.APPROVER}), "bank-a")
MAKER_APPROVER = Actor("alice", frozenset({Role.MAKER, Role.APPROVER}), "bank-a")
OTHER_BANK_APPROVER = Actor("carol", frozenset({Role.APPROVER}), "bank-b")
SYSTEM = Actor("monitor", frozenset({Role.SYSTEM}), "bank-a")


def ctx(**kw) -> TransitionContext:
    base = {"on": D, "bank_id": "bank-a", "submitted_by": "alice"}
    base.update(kw)
    return TransitionContext(**base)


def test_every_state_is_reachable_from_draft():
    assert reachable_states() == frozenset(LoanState)


def test_terminal_states_have_no_actions_and_others_have_some():
    for s in LoanState:
        assert (allowed_actions(s) == ()) == (s in TERMINAL_STATES), s


def test_action_names_are_unique_and_table_is_exported_as_data():
    assert len(ACTIONS) == len(TRANSITIONS)
    table = transition_table()
    assert {row["action"] for row in table} == set(ACTIONS)
    approve = next(r for r in table if r["action"] == "approve")
    assert approve == {
        "action": "approve", "from": ["under_review"], "to": "approved", "roles": ["approver"],
        "maker_checker": True, "guarded": False, "releases_pledge": False,
        "description": approve["description"],
    }


def test_approve_disburse_and_write_off_are_maker_checked():
    mc = {m.action for m in TRANSITIONS if m.maker_checker}
    assert {"approve", "disburse", "write_off"} <= mc


def test_happy_path_draft_to_closed():
    steps = [
        ("submit", MAKER, {}), ("start_review", APPROVER, {}), ("approve", APPROVER, {}),
        ("register_pledge", MAKER, {"pledge_registration_number": "Y2026990001234"}),
        ("disburse", APPROVER, {}), ("settle", MAKER, {}), ("close", MAKER, {}),
    ]
    state = LoanState.DRAFT
    for action, actor, extra in steps:
        res = apply_transition(state, action, actor, ctx(**extra))
        assert res.audit.from_state == state and res.audit.to_state == res.to_state
        state = res.to_state
    assert state is LoanState.CLOSED


def test_default_path_through_claim_and_disposal_to_closed():
    path = [
        (LoanState.ACTIVE, "mark_overdue", SYSTEM, {"overdue_days": 5}, LoanState.OVERDUE),
        (LoanState.OVERDUE, "declare_default", APPROVER, {"overdue_days": 95}, LoanState.DEFAULT),
        (LoanState.DEFAULT, "file_claim", MAKER, {}, LoanState.IN_CLAIM),
        (LoanState.IN_CLAIM, "start_disposal", MAKER, {}, LoanState.IN_DISPOSAL),
        (LoanState.IN_DISPOSAL, "complete_recovery", MAKER, {}, LoanState.RECOVERED),
        (LoanState.RECOVERED, "write_off", APPROVER, {}, LoanState.WRITTEN_OFF),
        (LoanState.WRITTEN_OFF, "close", MAKER, {}, LoanState.CLOSED),
    ]
    for state, action, actor, extra, target in path:
        assert apply_transition(state, action, actor, ctx(**extra)).to_state is target


ILLEGAL_PAIRS = [(s, a) for s in LoanState for a in ACTIONS if a not in allowed_actions(s)]


def test_illegal_pairs_are_most_of_the_state_action_grid():
    legal = sum(len(m.sources) for m in TRANSITIONS)
    assert len(ILLEGAL_PAIRS) + legal == len(LoanState) * len(ACTIONS)


@pytest.mark.parametrize(("state", "action"), ILLEGAL_PAIRS)
def test_every_move_outside_the_table_is_illegal_and_lists_the_allowed_ones(state, action):
    allowed = allowed_actions(state)
    with pytest.raises(IllegalTransition) as err:
        apply_transition(state, action, MAKER_APPROVER, ctx(submitted_by="someone-else"))
    assert err.value.allowed_actions == allowed
    assert err.value.state is state
    assert not isinstance(err.value, GuardFailed)


def test_unknown_action_is_a_value_error_naming_the_field():
    with pytest.raises(ValueError, match="action: unknown action 'approve_all'"):
        apply_transition(LoanState.DRAFT, "approve_all", MAKER, ctx())


def test_submitter_cannot_approve_even_with_approver_role():
    with pytest.raises(MakerCheckerViolation, match="cannot also approve"):
        apply_transition(LoanState.UNDER_REVIEW, "approve", MAKER_APPROVER, ctx(submitted_by="alice"))


@pytest.mark.parametrize(
    ("state", "action"),
    [(LoanState.UNDER_REVIEW, "approve"), (LoanState.PLEDGE_REGISTERED, "disburse"), (LoanState.DEFAULT, "write_off")],
)
def test_approve_disburse_write_off_need_a_second_user_with_approver_role(state, action):
    with pytest.raises(MakerCheckerViolation, match="approver role"):
        apply_transition(state, action, Actor("dave", frozenset({Role.MAKER}), "bank-a"), ctx())
    with pytest.raises(MakerCheckerViolation, match="maker-checker"):
        apply_transition(state, action, MAKER_APPROVER, ctx(submitted_by="alice"))
    assert apply_transition(state, action, APPROVER, ctx(submitted_by="alice")).audit.maker_checker


def test_approver_of_another_bank_is_refused():
    with pytest.raises(WrongBank):
        apply_transition(LoanState.UNDER_REVIEW, "approve", OTHER_BANK_APPROVER, ctx())


def test_maker_moves_need_the_maker_role():
    with pytest.raises(MissingRole):
        apply_transition(LoanState.DRAFT, "submit", APPROVER, ctx())
    with pytest.raises(MissingRole):
        apply_transition(LoanState.DRAFT, "submit", SYSTEM, ctx())


def test_system_may_mark_overdue_and_cure_but_not_approve():
    assert apply_transition(LoanState.ACTIVE, "mark_overdue", SYSTEM, ctx(overdue_days=1)).to_state is (
        LoanState.OVERDUE
    )
    assert apply_transition(LoanState.OVERDUE, "cure", SYSTEM, ctx(overdue_days=0)).to_state is LoanState.ACTIVE
    with pytest.raises(MakerCheckerViolation):
        apply_transition(LoanState.UNDER_REVIEW, "approve", SYSTEM, ctx())


def test_undo_approval_returns_to_review():
    assert apply_transition(LoanState.APPROVED, "undo_approval", APPROVER, ctx()).to_state is LoanState.UNDER_REVIEW


def test_disbursement_can_be_undone_the_same_day_before_any_payment():
    ok = apply_transition(LoanState.ACTIVE, "undo_disbursement", APPROVER, ctx(disbursed_on=D))
    assert ok.to_state is LoanState.PLEDGE_REGISTERED


def test_disbursement_cannot_be_undone_the_next_day():
    with pytest.raises(GuardFailed, match="only be reversed on its own day") as err:
        apply_transition(LoanState.ACTIVE, "undo_disbursement", APPROVER, ctx(disbursed_on=date(2026, 3, 1)))
    assert "undo_disbursement" in err.value.allowed_actions  # a guard refusal is still a 409 with the list


def test_disbursement_cannot_be_undone_after_a_payment():
    with pytest.raises(GuardFailed, match="after a payment"):
        apply_transition(LoanState.ACTIVE, "undo_disbursement", APPROVER, ctx(disbursed_on=D, payments_received_fen=1))


def test_settlement_needs_nothing_outstanding_and_releases_the_pledge():
    with pytest.raises(GuardFailed, match="1 fen outstanding"):
        apply_transition(LoanState.ACTIVE, "settle", MAKER, ctx(outstanding_fen=1))
    res = apply_transition(LoanState.ACTIVE, "settle", MAKER, ctx(outstanding_fen=0))
    assert res.releases_pledge and res.to_state is LoanState.SETTLED


def test_overdue_marking_and_cure_follow_the_days_overdue():
    with pytest.raises(GuardFailed):
        apply_transition(LoanState.ACTIVE, "mark_overdue", SYSTEM, ctx(overdue_days=0))
    with pytest.raises(GuardFailed, match="still 3 days overdue"):
        apply_transition(LoanState.OVERDUE, "cure", SYSTEM, ctx(overdue_days=3))


def test_pledge_registration_needs_the_registration_number_and_records_it():
    with pytest.raises(GuardFailed, match="pledge_registration_number"):
        apply_transition(LoanState.APPROVED, "register_pledge", MAKER, ctx())
    res = apply_transition(LoanState.APPROVED, "register_pledge", MAKER, ctx(pledge_registration_number="Y1"))
    assert res.audit.details["pledge_registration_number"] == "Y1"


def test_audit_record_holds_who_what_when_and_is_json_ready():
    res = apply_transition(LoanState.UNDER_REVIEW, "approve", APPROVER,
                           ctx(comment="ok", details={"valuation_date": date(2026, 1, 5)}))
    d = res.audit.as_dict()
    assert d == {
        "action": "approve", "from_state": "under_review", "to_state": "approved", "actor_id": "bob",
        "actor_roles": ["approver"], "bank_id": "bank-a", "on": "2026-03-02", "maker_checker": True,
        "submitted_by": "alice", "comment": "ok", "details": {"valuation_date": "2026-01-05"},
    }


def test_context_rejects_negative_amounts_naming_the_field():
    with pytest.raises(ValueError, match="outstanding_fen"):
        ctx(outstanding_fen=-1)
    with pytest.raises(ValueError, match=r"actor\.user_id"):
        Actor("", frozenset({Role.MAKER}))
