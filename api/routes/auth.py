from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from api import audit, crud
from api.core.config import get_settings
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


@router.post("/session", status_code=status.HTTP_303_SEE_OTHER)
def login_session(
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    next_url: Annotated[str, Form(alias="next")] = "/dashboard/",
) -> Response:
    """Dashboard login: sets the token as a secure HttpOnly cookie and redirects (303).

    The cookie authenticates read-only requests only (see ``api.deps.get_current_user``).
    A failed login redirects back to the login page with ``?error=1``.
    """
    settings = get_settings()
    target = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/dashboard/"
    user = crud.authenticate(session, form.username, form.password)
    if user is None or not user.is_active:
        return RedirectResponse("/dashboard/login?error=1", status_code=status.HTTP_303_SEE_OTHER)
    token, expires_in = create_access_token(user.id)  # type: ignore[arg-type]
    audit.record(session, user, "user", user.id, "login_session")
    session.commit()
    resp = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    resp.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=expires_in,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/",
    )
    return resp


@router.post("/logout", status_code=status.HTTP_303_SEE_OTHER)
def logout_session() -> Response:
    """Clear the dashboard session cookie."""
    resp = RedirectResponse("/dashboard/login", status_code=status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(get_settings().session_cookie_name, path="/")
    return resp
