"""Errors the routes raise: 404 not found, 409 conflict, 422 naming a field (one handler each in api.main)."""

from __future__ import annotations


class NotFound(LookupError):
    """The object does not exist or the caller may not see it."""


class Conflict(ValueError):
    """The request conflicts with the current state (HTTP 409)."""


class FieldError(ValueError):
    """A domain error about one request field (HTTP 422 whose ``loc`` names it; dots for nesting)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
