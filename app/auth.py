"""Authentication: the webhook's shared secret or HMAC, the API's bearer token.

Every comparison is constant-time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

P = ParamSpec("P")
R = TypeVar("R")

SIGNATURE_HEADER = "X-TradingView-Signature"


def webhook_authenticated(
    *,
    secret: str,
    raw_body: bytes,
    body_secret: str | None,
    query_secret: str | None,
    signature_header: str | None,
) -> bool:
    """True when any one of the accepted proofs is present and right."""
    if not secret:
        return False
    expected = secret.encode()
    if signature_header:
        scheme, _, digest = signature_header.partition("=")
        if scheme.strip().lower() == "sha256":
            mac = hmac.new(expected, raw_body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(mac.encode(), digest.strip().lower().encode()):
                return True
    for candidate in (body_secret, query_secret):
        # surrogatepass: JSON may carry a lone surrogate ("\ud800"); it is just a wrong secret.
        given = candidate.encode("utf-8", "surrogatepass") if candidate is not None else None
        if given is not None and hmac.compare_digest(given, expected):
            return True
    return False


def require_api_token(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Refuse the request with 401 unless it carries ``Authorization: Bearer $API_TOKEN``."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        from app import services

        token = services(current_app).settings.api_token
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        valid = (
            token is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())
        )
        if not valid:
            response = jsonify(
                {"errors": {"authorization": ["send the header Authorization: Bearer <API_TOKEN>"]}}
            )
            response.status_code = 401
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return view(*args, **kwargs)

    return wrapped
