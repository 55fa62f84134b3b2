"""Transport guards in front of every route: body size limits, refused characters, security headers.

One pure ASGI middleware, so it also covers the mounted dashboard and the docs:

* **Size**: a body above ``IPFIN_MAX_BODY_BYTES`` (1 MiB; multipart uploads
  ``IPFIN_MAX_UPLOAD_BYTES``, 20 MiB) is answered 413 before the app reads it. The body is read
  here (bounded) and replayed to the app, so a chunked body without Content-Length is bounded too.
* **Text** (``/api/`` only): every string in a JSON or form body, in the query string and in the
  path is checked by :func:`ipfin.validation.text_problem` (control characters, lone surrogates,
  numbers typed in full-width digits) and every JSON integer must fit in 64 bits; a failure is a
  422 whose ``loc`` names the field, before any route runs.
* **Headers**: Content-Security-Policy (strict for the API, what Dash and Swagger UI need for
  /dashboard and /docs), X-Frame-Options DENY, X-Content-Type-Options nosniff,
  Referrer-Policy, Permissions-Policy; Strict-Transport-Security outside demo mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.config import get_settings
from api.core.errors import field_error
from ipfin.validation import text_problem

INT64_MAX = 2**63 - 1
MAX_REPORTED = 20

CSP_API = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CSP_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
CSP_PAGES = (  # the Dash dashboard: its renderer starts from an inline script; Plotly sets inline styles
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
)


def content_security_policy(path: str, api_prefix: str) -> str:
    if path.startswith(api_prefix) and not path.endswith("/openapi.json"):
        return CSP_API
    if path.startswith(("/docs", "/redoc")):
        return CSP_DOCS
    return CSP_PAGES


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    settings = get_settings()
    headers = [
        (b"content-security-policy", content_security_policy(path, settings.api_v1_str).encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if not settings.demo_mode:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def _walk(value: Any, loc: list[str | int]) -> Iterator[dict[str, Any]]:
    """The refused strings and out-of-range integers in a parsed JSON value, with their locations."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield field_error(loc, problem[1], problem[0])
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            yield field_error(loc, "integer out of range (must fit in 64 bits)", "int_out_of_range")
    elif isinstance(value, dict):
        for k, v in value.items():
            problem = text_problem(k)
            if problem:
                yield field_error([*loc, _printable(k)], problem[1], problem[0])
            else:
                yield from _walk(v, [*loc, k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, [*loc, i])


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _pairs(pairs: list[tuple[str, str]], where: str) -> Iterator[dict[str, Any]]:
    for name, value in pairs:
        for text in (name, value):
            problem = text_problem(text)
            if problem:
                yield field_error([where, _printable(name)], problem[1], problem[0])
                break


def text_errors(scope: Scope, body: bytes) -> list[dict[str, Any]]:
    """Every 422 item for the request's path, query string and (JSON or form) body; [] if clean."""
    errors: list[dict[str, Any]] = []
    problem = text_problem(scope.get("path", ""))
    if problem:
        errors.append(field_error(["path"], problem[1], problem[0]))
    query = scope.get("query_string", b"").decode("latin-1")
    errors.extend(_pairs(parse_qsl(query, keep_blank_values=True), "query"))
    ctype = _header(scope, b"content-type")
    if body and ctype.startswith("application/x-www-form-urlencoded"):
        errors.extend(_pairs(parse_qsl(body.decode("latin-1"), keep_blank_values=True), "body"))
    elif body and (ctype.startswith("application/json") or ctype.endswith("+json")):
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return errors  # not JSON: the app's own parser gives the 422 (json_invalid) or 400
        errors.extend(_walk(parsed, ["body"]))
    return errors[:MAX_REPORTED]


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return str(v.decode("latin-1").lower())
    return ""


class TransportGuard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = security_headers(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in names)]
            await send(message)

        settings = get_settings()
        multipart = _header(scope, b"content-type").startswith("multipart/")
        limit = settings.max_upload_bytes if multipart or path.startswith("/dashboard") else settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _reply(send_with_headers, 413, {"detail": f"request body larger than {limit} bytes"})
            return
        body, more = await _read_body(receive, limit)
        if more:
            await _reply(send_with_headers, 413, {"detail": f"request body larger than {limit} bytes"})
            return
        if path.startswith(settings.api_v1_str):
            errors = text_errors(scope, body)
            if errors:
                await _reply(send_with_headers, 422, {"detail": errors})
                return
        await self.app(scope, _replay(body, receive), send_with_headers)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or (what was read, True) as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then waits on the real channel."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send: Send, status: int, content: dict[str, Any]) -> None:
    payload = json.dumps(content, ensure_ascii=False).encode("utf-8")
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
    })
    await send({"type": "http.response.body", "body": payload})
