"""Password hashing (argon2id) and bearer tokens (JWT, HS256).

A token carries the user id (``sub``), when it was issued (``iat``), when it expires (``exp``,
required: a signed token without it is refused) and the user's ``token_version`` (``ver``).
Changing the password or disabling the user bumps the version, so every token issued before
stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.core.config import get_settings

ALGORITHM = "HS256"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(
    subject: str | int, expires_minutes: int | None = None, token_version: int = 0
) -> tuple[str, int]:
    """A signed token for user ``subject`` at ``token_version``; returns (token, lifetime in seconds)."""
    settings = get_settings()
    minutes = expires_minutes or settings.access_token_expire_minutes
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": str(subject),
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "ver": int(token_version),
    }
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM), minutes * 60


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: whose it is and the token version it was issued at."""

    user_id: int
    token_version: int


def decode_token(token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token with ``sub``, ``exp`` and ``ver``; else ``None``."""
    try:
        payload = jwt.decode(
            token, get_settings().secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "ver"]}
        )
    except jwt.PyJWTError:
        return None
    sub, ver = payload.get("sub"), payload.get("ver")
    if not isinstance(sub, str) or not sub.isascii() or not sub.isdigit() or len(sub) > 18:
        return None
    if not isinstance(ver, int) or isinstance(ver, bool):
        return None
    return TokenClaims(user_id=int(sub), token_version=ver)


def decode_access_token(token: str) -> str | None:
    """The user id in a valid, unexpired token, else ``None`` (the version is checked by the caller)."""
    claims = decode_token(token)
    return str(claims.user_id) if claims else None
