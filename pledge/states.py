"""The pledge-loan state machine (质押贷款流程): one explicit table of allowed moves.

Every move is a row of :data:`TRANSITIONS`: action name, the states it may start from,
the state it leads to, the roles allowed to perform it, whether maker-checker (四眼原则)
applies, and a guard on the loan's facts (e.g. a disbursement may only be reversed on
the same day and before any payment). :func:`apply_transition` is pure: it checks the
move and returns a :class:`TransitionResult` carrying everything the audit event must
record; storing the new state and the event (in one transaction) is the caller's job.

Lifecycle::

    draft → submitted → under_review → approved | rejected | withdrawn
    approved → pledge_registered → active (disbursed)
    active → settled (pledge released) → closed
    active → overdue → active (cured) | settled | default
    default → in_claim → in_disposal → recovered | written_off → closed

Undo moves a bank needs: ``undo_approval`` (approved → under_review, e.g. a condition
precedent failed) and ``undo_disbursement`` (active → pledge_registered: same-day
reversal of a disbursement made in error, before any payment).

Errors: :class:`IllegalTransition` (HTTP 409; carries the allowed actions from the
current state) and its subclass :class:`GuardFailed` (the move exists but the loan's
facts forbid it); :class:`Forbidden` (HTTP 403) with subclasses :class:`MissingRole`,
:class:`MakerCheckerViolation` and :class:`WrongBank`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ipfin.money import Fen


class LoanState(StrEnum):
    """Where a pledge loan is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    PLEDGE_REGISTERED = "pledge_registered"  # 质押登记 done at CNIPA
    ACTIVE = "active"  # disbursed (放款) and performing
    OVERDUE = "overdue"  # 逾期
    SETTLED = "settled"  # repaid in full, pledge released (解除质押)
    DEFAULT = "default"  # 违约
    IN_CLAIM = "in_claim"  # risk-compensation / guarantee claim (代偿) filed
    IN_DISPOSAL = "in_disposal"  # 质物处置 under way
    RECOVERED = "recovered"  # disposal finished, recoveries booked
    WRITTEN_OFF = "written_off"  # 核销
    CLOSED = "closed"


TERMINAL_STATES: frozenset[LoanState] = frozenset({LoanState.REJECTED, LoanState.WITHDRAWN, LoanState.CLOSED})
"""States with no way out."""


class Role(StrEnum):
    """Bank roles for the workflow. ``system`` is the monitoring job (overdue marking, cure)."""

    MAKER = "maker"  # 经办
    APPROVER = "approver"  # 审批
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs a move: a user id, the roles they hold and the bank they belong to."""

    user_id: str
    roles: frozenset[Role]
    bank_id: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id or not str(self.user_id).strip():
            raise ValueError("actor.user_id must not be empty")
        object.__setattr__(self, "roles", frozenset(Role(r) for r in self.roles))


@dataclass(frozen=True, slots=True)
class TransitionContext:
    """The loan's facts a move may depend on (all money in fen).

    ``submitted_by`` is the maker who submitted the application (maker-checker compares
    against it); ``bank_id`` the lending bank; ``on`` the business date of the move;
    ``disbursed_on``/``payments_received_fen`` guard the same-day disbursement reversal;
    ``outstanding_fen`` (principal + interest + fees due) guards settlement;
    ``overdue_days`` guards overdue marking and cure; ``pledge_registration_number``
    must be given to register the pledge; ``details`` are copied into the audit record.
    """

    on: date
    bank_id: str | None = None
    submitted_by: str | None = None
    disbursed_on: date | None = None
    payments_received_fen: Fen = 0
    outstanding_fen: Fen = 0
    overdue_days: int = 0
    pledge_registration_number: str | None = None
    comment: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("payments_received_fen", "outstanding_fen", "overdue_days"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"context.{name} must be an integer")
            if v < 0:
                raise ValueError(f"context.{name} must not be negative")
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


Guard = Callable[[TransitionContext], str | None]
"""Returns ``None`` when the move is allowed by the loan's facts, else the reason it is not."""


def _needs_registration_number(ctx: TransitionContext) -> str | None:
    if not (ctx.pledge_registration_number or "").strip():
        return "pledge_registration_number is required to register the pledge (质押登记号)"
    return None


def _same_day_no_payment(ctx: TransitionContext) -> str | None:
    if ctx.disbursed_on is None:
        return "disbursed_on is unknown: cannot check the same-day reversal rule"
    if ctx.on != ctx.disbursed_on:
        return f"a disbursement can only be reversed on its own day ({ctx.disbursed_on.isoformat()})"
    if ctx.payments_received_fen > 0:
        return "a disbursement cannot be reversed after a payment was received"
    return None


def _nothing_outstanding(ctx: TransitionContext) -> str | None:
    if ctx.outstanding_fen > 0:
        return f"loan still has {ctx.outstanding_fen} fen outstanding; it can only be settled when fully repaid"
    return None


def _is_overdue(ctx: TransitionContext) -> str | None:
    if ctx.overdue_days <= 0:
        return "no instalment is overdue"
    return None


def _is_cured(ctx: TransitionContext) -> str | None:
    if ctx.overdue_days > 0:
        return f"still {ctx.overdue_days} days overdue; pay the arrears first"
    return None


@dataclass(frozen=True, slots=True)
class Move:
    """One row of the transition table."""

    action: str
    sources: frozenset[LoanState]
    target: LoanState
    roles: frozenset[Role]
    maker_checker: bool
    description: str
    guard: Guard | None = None
    releases_pledge: bool = False


def _m(
    action: str,
    sources: set[LoanState],
    target: LoanState,
    roles: set[Role],
    maker_checker: bool,
    description: str,
    guard: Guard | None = None,
    releases_pledge: bool = False,
) -> Move:
    return Move(action, frozenset(sources), target, frozenset(roles), maker_checker, description, guard,
                releases_pledge)


S = LoanState
MAKER, APPROVER, SYSTEM = Role.MAKER, Role.APPROVER, Role.SYSTEM

TRANSITIONS: tuple[Move, ...] = (
    _m("submit", {S.DRAFT}, S.SUBMITTED, {MAKER}, False, "maker submits the application"),
    _m("start_review", {S.SUBMITTED}, S.UNDER_REVIEW, {APPROVER}, True, "credit review starts"),
    _m("return_to_maker", {S.SUBMITTED, S.UNDER_REVIEW}, S.DRAFT, {APPROVER}, True,
       "application sent back to the maker for changes"),
    _m("approve", {S.UNDER_REVIEW}, S.APPROVED, {APPROVER}, True, "credit approval (审批通过)"),
    _m("reject", {S.UNDER_REVIEW}, S.REJECTED, {APPROVER}, True, "application rejected"),
    _m("withdraw", {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED}, S.WITHDRAWN, {MAKER}, False,
       "applicant withdraws before the pledge is registered"),
    _m("undo_approval", {S.APPROVED}, S.UNDER_REVIEW, {APPROVER}, True,
       "approval revoked before registration (e.g. a condition precedent failed)"),
    _m("register_pledge", {S.APPROVED}, S.PLEDGE_REGISTERED, {MAKER}, False,
       "pledge registered at CNIPA (质押登记)", _needs_registration_number),
    _m("disburse", {S.PLEDGE_REGISTERED}, S.ACTIVE, {APPROVER}, True, "loan disbursed (放款)"),
    _m("undo_disbursement", {S.ACTIVE}, S.PLEDGE_REGISTERED, {APPROVER}, True,
       "same-day reversal of a disbursement, before any payment", _same_day_no_payment),
    _m("settle", {S.ACTIVE, S.OVERDUE}, S.SETTLED, {MAKER, SYSTEM}, False,
       "repaid in full; pledge released (解除质押)", _nothing_outstanding, releases_pledge=True),
    _m("mark_overdue", {S.ACTIVE}, S.OVERDUE, {MAKER, SYSTEM}, False, "an instalment is past due (逾期)",
       _is_overdue),
    _m("cure", {S.OVERDUE}, S.ACTIVE, {MAKER, SYSTEM}, False, "arrears paid; back to performing", _is_cured),
    _m("declare_default", {S.OVERDUE}, S.DEFAULT, {APPROVER}, True, "loan declared in default (违约)"),
    _m("file_claim", {S.DEFAULT}, S.IN_CLAIM, {MAKER}, False,
       "claim filed with the guarantor / risk-compensation fund (代偿申请)"),
    _m("start_disposal", {S.DEFAULT, S.IN_CLAIM}, S.IN_DISPOSAL, {MAKER}, False,
       "disposal of the pledged IP starts (质物处置)"),
    _m("complete_recovery", {S.IN_DISPOSAL}, S.RECOVERED, {MAKER}, False,
       "disposal finished and net recoveries booked", releases_pledge=True),
    _m("write_off", {S.DEFAULT, S.IN_CLAIM, S.IN_DISPOSAL, S.RECOVERED}, S.WRITTEN_OFF, {APPROVER}, True,
       "remaining loss written off (核销)", releases_pledge=True),
    _m("close", {S.SETTLED, S.RECOVERED, S.WRITTEN_OFF}, S.CLOSED, {MAKER, SYSTEM}, False, "file closed"),
)
"""THE table of allowed moves. Nothing else in ipfin may change a loan's state."""

_BY_ACTION: dict[str, Move] = {m.action: m for m in TRANSITIONS}
ACTIONS: tuple[str, ...] = tuple(_BY_ACTION)


# ------------------------------------------------------------------ errors


class IllegalTransition(ValueError):
    """The action is not allowed from the current state (HTTP 409)."""

    def __init__(self, state: LoanState, action: str, message: str | None = None) -> None:
        self.state = LoanState(state)
        self.action = action
        self.allowed_actions = allowed_actions(self.state)
        super().__init__(
            message
            or f"action {action!r} is not allowed from state {self.state.value!r}; "
            f"allowed: {', '.join(self.allowed_actions) or 'none (terminal state)'}"
        )


class GuardFailed(IllegalTransition):
    """The move exists from this state but the loan's facts forbid it now (HTTP 409)."""

    def __init__(self, state: LoanState, action: str, reason: str) -> None:
        self.reason = reason
        super().__init__(state, action, f"action {action!r} refused: {reason}")


class Forbidden(PermissionError):
    """The actor may not perform this move (HTTP 403)."""

    def __init__(self, action: str, message: str) -> None:
        self.action = action
        super().__init__(message)


class MissingRole(Forbidden):
    """The actor lacks every role allowed for the move."""


class MakerCheckerViolation(Forbidden):
    """Four-eyes rule broken: the maker of the application cannot check it, or no approver role."""


class WrongBank(Forbidden):
    """The actor belongs to another bank than the lender."""


# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What the audit event of a move must contain (stored in the same transaction as the state)."""

    action: str
    from_state: LoanState
    to_state: LoanState
    actor_id: str
    actor_roles: tuple[str, ...]
    bank_id: str | None
    on: date
    maker_checker: bool
    submitted_by: str | None
    comment: str | None
    details: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO text)."""
        return {
            "action": self.action,
            "from_state": self.from_state.value,
            "to_state": self.to_state.value,
            "actor_id": self.actor_id,
            "actor_roles": list(self.actor_roles),
            "bank_id": self.bank_id,
            "on": self.on.isoformat(),
            "maker_checker": self.maker_checker,
            "submitted_by": self.submitted_by,
            "comment": self.comment,
            "details": {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in self.details.items()},
        }


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """The outcome of an allowed move: new state, side effects to perform, the audit record."""

    from_state: LoanState
    to_state: LoanState
    action: str
    releases_pledge: bool
    audit: AuditRecord


# ------------------------------------------------------------------ API


def move_for(action: str) -> Move:
    """The table row of ``action`` (ValueError naming ``action`` if unknown)."""
    try:
        return _BY_ACTION[action]
    except KeyError:
        raise ValueError(f"action: unknown action {action!r}; known: {', '.join(ACTIONS)}") from None


def allowed_actions(state: LoanState | str) -> tuple[str, ...]:
    """Actions whose source states include ``state``, in table order (guards not evaluated)."""
    s = LoanState(state)
    return tuple(m.action for m in TRANSITIONS if s in m.sources)


def apply_transition(
    state: LoanState | str, action: str, actor: Actor, context: TransitionContext
) -> TransitionResult:
    """Check ``action`` from ``state`` by ``actor`` against the table and return the result.

    Order of checks: the action exists (ValueError) → it is allowed from ``state``
    (:class:`IllegalTransition`) → the actor's bank and role (:class:`WrongBank`,
    :class:`MissingRole`) → maker-checker (:class:`MakerCheckerViolation`) → the guard
    on the loan's facts (:class:`GuardFailed`).
    """
    s = LoanState(state)
    move = move_for(action)
    if s not in move.sources:
        raise IllegalTransition(s, action)
    if context.bank_id is not None and actor.bank_id is not None and actor.bank_id != context.bank_id:
        raise WrongBank(action, f"user {actor.user_id} belongs to bank {actor.bank_id}, not the lender "
                                f"{context.bank_id}")
    if move.maker_checker:
        if Role.APPROVER not in actor.roles:
            raise MakerCheckerViolation(
                action, f"{action!r} needs a second user with the approver role; {actor.user_id} is not an approver"
            )
        if context.submitted_by is not None and actor.user_id == context.submitted_by:
            raise MakerCheckerViolation(
                action, f"{actor.user_id} submitted this application and cannot also {action} it (maker-checker)"
            )
        if context.bank_id is not None and actor.bank_id is None:
            raise WrongBank(action, f"{action!r} needs an approver of the lending bank {context.bank_id}")
    elif not (move.roles & actor.roles):
        raise MissingRole(
            action,
            f"{action!r} needs one of the roles {sorted(r.value for r in move.roles)}; "
            f"{actor.user_id} has {sorted(r.value for r in actor.roles)}",
        )
    if move.guard is not None:
        reason = move.guard(context)
        if reason is not None:
            raise GuardFailed(s, action, reason)
    details = dict(context.details)
    if action == "register_pledge":
        details.setdefault("pledge_registration_number", context.pledge_registration_number)
    audit = AuditRecord(
        action=action,
        from_state=s,
        to_state=move.target,
        actor_id=actor.user_id,
        actor_roles=tuple(sorted(r.value for r in actor.roles)),
        bank_id=context.bank_id,
        on=context.on,
        maker_checker=move.maker_checker,
        submitted_by=context.submitted_by,
        comment=context.comment,
        details=MappingProxyType(details),
    )
    return TransitionResult(s, move.target, action, move.releases_pledge, audit)


def reachable_states(start: LoanState = LoanState.DRAFT) -> frozenset[LoanState]:
    """States reachable from ``start`` through the table (for checks and documentation)."""
    seen = {start}
    frontier = [start]
    while frontier:
        s = frontier.pop()
        for m in TRANSITIONS:
            if s in m.sources and m.target not in seen:
                seen.add(m.target)
                frontier.append(m.target)
    return frozenset(seen)


def transition_table() -> list[dict[str, Any]]:
    """The table as plain data (for the API's documentation endpoint and the CLI)."""
    return [
        {
            "action": m.action,
            "from": sorted(s.value for s in m.sources),
            "to": m.target.value,
            "roles": sorted(r.value for r in m.roles),
            "maker_checker": m.maker_checker,
            "guarded": m.guard is not None,
            "releases_pledge": m.releases_pledge,
            "description": m.description,
        }
        for m in TRANSITIONS
    ]
