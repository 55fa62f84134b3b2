"""Identity request and response models (Create/Public, token, password change)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from api.identity.models import OrganisationBase, UserBase


class OrganisationCreate(OrganisationBase):
    pass


class OrganisationPublic(OrganisationBase):
    id: int


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=128)
    organisation_id: int


class UserPublic(UserBase):
    id: int
    organisation_id: int


class UserMe(UserPublic):
    organisation: OrganisationPublic


class UserPasswordUpdate(SQLModel):
    current_password: str
    new_password: str = Field(min_length=10, max_length=128)


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
