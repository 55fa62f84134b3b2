"""The error contract: the exceptions routes raise and the one schema every error body follows.

Every error answer is ``{"detail": ...}`` (:class:`ErrorResponse`):

* 422 (invalid input): ``detail`` is a list of ``{loc, msg, type}``; ``loc`` names the field, e.g.
  ``["body", "amount_cny"]``, ``["query", "date_from"]``, ``["path", "loan_id"]``.
* 400, 401, 403, 404, 409, 413, 429: ``detail`` is a message a person can read. A 409 from a
  workflow or eligibility check may instead be an object with ``message`` and the context
  (e.g. ``allowed_actions``, ``reasons``); a 422 from a file import likewise (``message``, ``errors``).

One handler per error kind lives in :mod:`api.main`; :data:`ERROR_RESPONSES` documents them on
every route (see :mod:`api.router`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class NotFound(LookupError):
    """The object does not exist or the caller may not see it."""


class Conflict(ValueError):
    """The request conflicts with the current state (HTTP 409)."""


class FieldError(ValueError):
    """A domain error about one request field (HTTP 422 whose ``loc`` names it; dots for nesting)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ErrorDetail(BaseModel):
    """One problem with the request: where (``loc``: body/query/path/header, then the field), what, which kind."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ErrorContext(BaseModel):
    """A message with structured context (409 workflow/eligibility answers, 422 import reports)."""

    model_config = ConfigDict(extra="allow")
    message: str


class ErrorResponse(BaseModel):
    """The body of every error answer (see the module docstring for which shape goes with which status)."""

    detail: list[ErrorDetail] | str | ErrorContext


def field_error(loc: list[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    """One ``detail`` item of a 422."""
    return {"loc": loc, "msg": msg, "type": type_}


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("Malformed request (e.g. a body that cannot be parsed, a wrong current password)"),
    401: _doc("Not authenticated, or the token is invalid, expired or revoked"),
    403: _doc("Authenticated, but the caller's organisation kind or role may not do this"),
    404: _doc("No such object, or it belongs to another organisation"),
    409: _doc("Conflicts with the current state (illegal workflow move, duplicate, stale version)"),
    413: _doc("Request body too large"),
    422: _doc("Invalid input; each item's loc names the field"),
    429: _doc("Too many requests (failed logins); see Retry-After"),
}
"""Documented on every API route, so the OpenAPI document lists each error a route can give."""
