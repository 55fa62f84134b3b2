"""Whole loan files: full lifecycles and the property that any action sequence keeps the
balance non-negative and the audit trail complete."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledge.lifecycle import LoanFile, perform, receive_payment
from pledge.schedule import InterestRate, LoanTerms, ScheduleType
from pledge.states import (
    ACTIONS,
    Actor,
    Forbidden,
    GuardFailed,
    IllegalTransition,
    LoanState,
    MakerCheckerViolation,
    Role,
    allowed_actions,
    move_for,
)

MAKER = Actor("alice", frozenset({Role.MAKER}), "bank-a")
APPROVER = Actor("bob", frozenset({Role.APPROVER}), "bank-a")
APPROVER2 = Actor("erin", frozenset({Role.APPROVER, Role.MAKER}), "bank-a")
SYSTEM = Actor("monitor", frozenset({Role.SYSTEM}), "bank-a")
D = date(2026, 3, 2)
TERMS = LoanTerms(200_000_000, InterestRate.lpr_plus("0.0310", 60), D, 12, ScheduleType.EQUAL_PRINCIPAL)


def new_file() -> LoanFile:
    return LoanFile("L-1", "bank-a", TERMS)


def to_active(f: LoanFile, on: date = D) -> LoanFile:
    for action, actor, kw in [("submit", MAKER, {}), ("start_review", APPROVER, {}), ("approve", APPROVER, {}),
                              ("register_pledge", MAKER, {"pledge_registration_number": "Y202699000123"}),
                              ("disburse", APPROVER, {})]:
        f, _ = perform(f, action, actor, on, **kw)
    return f


def test_happy_path_repays_in_full_settles_releases_pledge_and_closes():
    f = to_active(new_file())
    assert f.state is LoanState.ACTIVE and f.account is not None and f.submitted_by == "alice"
    for line in f.account.lines:
        f, _ = receive_payment(f, line.instalment.total_fen, line.instalment.due_date)
    assert f.account.fully_repaid
    last = f.account.maturity
    f, res = perform(f, "settle", MAKER, last)
    assert res.releases_pledge
    f, _ = perform(f, "close", MAKER, last)
    assert [a.action for a in f.audit] == ["submit", "start_review", "approve", "register_pledge", "disburse",
                                           "settle", "close"]


def test_settlement_is_refused_while_money_is_owed():
    f = to_active(new_file())
    with pytest.raises(GuardFailed, match="outstanding"):
        perform(f, "settle", MAKER, D + timedelta(days=40))


def test_rejection_ends_the_file():
    f, _ = perform(new_file(), "submit", MAKER, D)
    f, _ = perform(f, "start_review", APPROVER, D)
    f, _ = perform(f, "reject", APPROVER, D)
    assert f.state is LoanState.REJECTED
    with pytest.raises(IllegalTransition) as err:
        perform(f, "approve", APPROVER, D)
    assert err.value.allowed_actions == ()


def test_default_claim_disposal_and_close():
    f = to_active(new_file())
    first_due = f.account.lines[0].instalment.due_date
    day = first_due + timedelta(days=3)
    f, _ = perform(f, "mark_overdue", SYSTEM, day)
    day = first_due + timedelta(days=95)
    f, _ = perform(f, "declare_default", APPROVER, day)
    for action in ("file_claim", "start_disposal", "complete_recovery"):
        f, _ = perform(f, action, MAKER, day)
    f, res = perform(f, "write_off", APPROVER, day)
    f, _ = perform(f, "close", MAKER, day)
    assert f.state is LoanState.CLOSED and res.releases_pledge


def test_overdue_loan_cures_when_arrears_are_paid():
    f = to_active(new_file())
    due = f.account.lines[0].instalment
    f, _ = perform(f, "mark_overdue", SYSTEM, due.due_date + timedelta(days=5))
    with pytest.raises(GuardFailed):
        perform(f, "cure", SYSTEM, due.due_date + timedelta(days=5))
    f, _ = receive_payment(f, due.total_fen, due.due_date + timedelta(days=6))
    f, _ = perform(f, "cure", SYSTEM, due.due_date + timedelta(days=6))
    assert f.state is LoanState.ACTIVE


def test_same_day_disbursement_reversal_removes_the_ledger():
    f = to_active(new_file())
    f, _ = perform(f, "undo_disbursement", APPROVER2, D)
    assert f.state is LoanState.PLEDGE_REGISTERED and f.account is None and f.disbursed_on is None


def test_the_submitter_cannot_approve_their_own_application():
    f, _ = perform(new_file(), "submit", APPROVER2, D)
    f, _ = perform(f, "start_review", APPROVER, D)
    with pytest.raises(MakerCheckerViolation):
        perform(f, "approve", APPROVER2, D)


def test_payments_are_refused_before_disbursement():
    with pytest.raises(ValueError, match="state"):
        receive_payment(new_file(), 100, D)


def test_disbursement_rebuilds_the_schedule_from_the_disbursement_day():
    later = D + timedelta(days=10)
    f = to_active(replace(new_file()), later)
    assert f.account.start_date == later and f.account.lines[0].instalment.period_start == later


ACTORS = [MAKER, APPROVER, APPROVER2, SYSTEM]


def random_walk(choose: Callable[[Sequence], object], n_steps: int) -> tuple[LoanFile, int, set[LoanState]]:
    """Walk a loan file through ``n_steps`` random steps, checking the invariants after each.

    Steps are payments, moves allowed from the current state by an actor holding a role the
    move needs (mostly), or any move by any actor; day gaps are random. Refused steps must
    change nothing. Returns the file, the number of moves performed and the states visited.
    """
    f = new_file()
    day = D
    done = 0
    seen = {f.state}
    for _ in range(n_steps):
        day += timedelta(days=choose(range(0, 36)))
        kind = choose(["allowed", "allowed", "allowed", "any", "pay", "pay"])
        before = f
        try:
            if kind == "pay":
                amount = choose([1, 999, 1_000_000, 3_000_000, 17_654_321, 60_000_000, "payoff"])
                if amount == "payoff":
                    amount = max(1, f.account.payoff_amount(day)) if f.account is not None else 1
                f, alloc = receive_payment(f, amount, day)
                assert alloc.applied_fen + alloc.unapplied_fen == amount
            else:
                pool = allowed_actions(f.state) if kind == "allowed" else ACTIONS
                if not pool:
                    continue
                action = choose(pool)
                roles = move_for(action).roles
                able = [a for a in ACTORS if a.roles & roles] if kind == "allowed" else ACTORS
                actor = choose(able)
                f, res = perform(f, action, actor, day, pledge_registration_number="Y1")
                done += 1
                assert res.audit.actor_id == actor.user_id and res.audit.on == day and res.action == action
        except (IllegalTransition, Forbidden, ValueError) as exc:
            assert f is before, exc  # a refused step changes nothing
        seen.add(f.state)
        if f.account is not None:
            assert f.account.principal_outstanding_fen >= 0
            assert all(ln.principal_unpaid_fen >= 0 and ln.interest_unpaid_fen >= 0 for ln in f.account.lines)
            assert f.account.principal_paid_fen + f.account.principal_outstanding_fen == TERMS.principal_fen
    return f, done, seen


def check_audit_complete(f: LoanFile, done: int) -> None:
    assert len(f.audit) == done
    chain = [LoanState.DRAFT] + [a.to_state for a in f.audit]
    assert [a.from_state for a in f.audit] == chain[:-1]
    assert chain[-1] is f.state


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n_steps=st.integers(0, 40))
def test_any_action_sequence_keeps_balance_non_negative_and_audit_complete(data, n_steps):
    f, done, _ = random_walk(lambda opts: data.draw(st.sampled_from(list(opts))), n_steps)
    check_audit_complete(f, done)


def test_random_walks_reach_the_whole_lifecycle():
    """Guards the property test's power: the same walks (seeded) reach the late states too."""
    rng = random.Random(20260302)
    seen: set[LoanState] = set()
    for _ in range(300):
        f, done, s = random_walk(lambda opts: rng.choice(list(opts)), 40)
        check_audit_complete(f, done)
        seen |= s
    assert {LoanState.ACTIVE, LoanState.OVERDUE, LoanState.SETTLED, LoanState.DEFAULT, LoanState.IN_DISPOSAL,
            LoanState.WRITTEN_OFF, LoanState.CLOSED} <= seen
