"""``Idempotency-Key`` for POSTs that move money or create money-bearing records.

A client that may retry (a timeout, a dropped connection, a double click) sends
``Idempotency-Key: <1..100 characters>``. Keys are scoped to the caller's organisation and the
route (method + path template). The first request with a key stores its answer in the
``idempotency_key`` table **in the same transaction as its effect**, so a crash can never leave
a key without its effect nor an effect without its key:

* same key, same request (path parameters + body) → the first answer again (same status and body,
  header ``Idempotent-Replayed: true``), nothing is written;
* same key, different request → 422 naming the ``Idempotency-Key`` header;
* concurrent duplicates → exactly one effect. The claim row is the request's *first* write, so the
  second request's insert waits for the first one's transaction (PostgreSQL: on the unique index;
  SQLite: on the database write lock, bounded by ``busy_timeout``), then collides on the unique
  constraint, rolls back and replays. If it cannot get the lock in time it gets a clean
  409 "in progress, retry" — never a second effect.

Only successful answers are stored: a refused request (409, 422, ...) rolls back with its claim,
so the same key may be retried after fixing the cause. Without the header nothing changes.

Use in a route (``SessionDep`` session, ``CurrentOrg`` org)::

    def post_payment(..., idem: IdempotencyDep) -> ...:
        if (replay := idem.begin(session, org, body)) is not None:
            return replay
        ...  # the effect, on ``session``, with its audit event
        return idem.finish(session, 201, PaymentPublic.model_validate(pay))  # stores + commits
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, Session, SQLModel, select

from api.core.db import utcnow

MAX_KEY_LENGTH = 100
REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyRecord(SQLModel, table=True):
    """One used key: which request it named (hash) and the answer it got."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("organisation_id", "key", "route", name="uq_idempotency_key"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    key: str = Field(max_length=MAX_KEY_LENGTH)
    route: str = Field(max_length=200, description="method and path template, e.g. POST /loans/{loan_id}/payments")
    request_hash: str = Field(max_length=64, description="sha256 of the path parameters and body")
    status_code: int | None = Field(default=None, description="the stored answer's HTTP status")
    response_body: Any = Field(default=None, sa_type=JSON, nullable=True)
    created_at: datetime = Field(default_factory=utcnow)


def request_hash(payload: Any) -> str:
    """A stable hash of a request: canonical JSON (sorted keys) of its path parameters and body."""
    data = jsonable_encoder(payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _replay(rec: IdempotencyRecord, digest: str) -> JSONResponse:
    if rec.request_hash != digest:
        raise HTTPException(422, detail=[{
            "loc": ["header", "Idempotency-Key"], "type": "value_error",
            "msg": "this Idempotency-Key was already used for a different request; use a new key"}])
    if rec.status_code is None:  # cannot happen: the answer is stored in the claim's own transaction
        raise _in_progress()
    return JSONResponse(rec.response_body, status_code=rec.status_code, headers={REPLAY_HEADER: "true"})


def _in_progress() -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, headers={"Retry-After": "1"},
                         detail="a request with this Idempotency-Key is in progress; retry shortly")


def find(session: Session, organisation_id: int, key: str, route: str) -> IdempotencyRecord | None:
    return session.exec(select(IdempotencyRecord).where(
        IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key,
        IdempotencyRecord.route == route)).first()


class Idempotency:
    """The ``Idempotency-Key`` of one request; a no-op when the header is absent."""

    def __init__(self, key: str | None, route: str, path_params: dict[str, Any]) -> None:
        self.key, self.route, self.path_params = key, route, path_params
        self.record: IdempotencyRecord | None = None

    def lookup(self, session: Session, org: Any, body: Any = None) -> JSONResponse | None:
        """The stored answer for this key if the key was used already (422 if for another request);
        claims nothing: lets a route skip expensive work before :meth:`begin`."""
        if self.key is None:
            return None
        existing = find(session, int(org.id), self.key, self.route)
        if existing is None:
            return None
        return _replay(existing, request_hash({"path": self.path_params, "body": body}))

    def begin(self, session: Session, org: Any, body: Any = None) -> JSONResponse | None:
        """Claim the key before the effect; returns the stored answer to send instead, if any.

        Must run before the request's first write (the claim has to be the transaction's first
        statement so that a concurrent duplicate waits for it rather than on a stale snapshot).
        """
        if self.key is None:
            return None
        if (replay := self.lookup(session, org, body)) is not None:
            return replay
        org_id, digest = int(org.id), request_hash({"path": self.path_params, "body": body})
        rec = IdempotencyRecord(organisation_id=org_id, key=self.key, route=self.route, request_hash=digest)
        session.add(rec)
        try:
            session.flush()
        except (IntegrityError, OperationalError) as exc:  # a duplicate committed first, or still holds the lock
            session.rollback()
            existing = find(session, org_id, self.key, self.route)
            if existing is None:
                raise _in_progress() from exc
            return _replay(existing, digest)
        self.record = rec
        return None

    def finish(self, session: Session, status_code: int, response: Any, *, commit: bool = True) -> Any:
        """Store the answer on the claim (same transaction as the effect), commit, return ``response``."""
        if self.record is not None:
            body = response.model_dump(mode="json") if isinstance(response, BaseModel) else jsonable_encoder(response)
            self.record.status_code = status_code
            self.record.response_body = body
            session.add(self.record)
        if commit:
            session.commit()
        return response


def get_idempotency(
    request: Request,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH,
        description="optional; a retry with the same key and body returns the first answer and books nothing "
                    "twice (same key, different body → 422)")] = None,
) -> Idempotency:
    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or request.url.path
    return Idempotency(idempotency_key, f"{request.method} {template}"[:200], dict(request.path_params))


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
