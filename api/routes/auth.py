from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from api import audit, crud
from api.core.security import create_access_token
from api.deps import SessionDep
from api.models.core import Token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def login_for_access_token(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: email as ``username`` and password → bearer token."""
    user = crud.authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}
        )
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Inactive user")
    token, expires_in = create_access_token(user.id)  # type: ignore[arg-type]
    audit.record(session, user, "user", user.id, "login")
    session.commit()
    return Token(access_token=token, expires_in=expires_in)
