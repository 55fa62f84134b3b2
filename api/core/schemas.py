"""Response models shared by every domain: the list page and health."""

from __future__ import annotations

from sqlmodel import SQLModel


class Page(SQLModel):
    """One page of a list: the items and the total count matching the filter."""

    count: int
    offset: int
    limit: int


class Health(SQLModel):
    status: str
    database: str
    schema_revision: str
    version: str
