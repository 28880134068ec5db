"""HTTP to OANDA's v20 REST API, and what each failure means for the caller.

One ``httpx.Client`` per process, with keep-alive: OANDA allows about 100 requests/s per
token but only 2 new connections/s, so connections are reused, never opened per request.
A client inherited over ``fork`` (Celery's prefork pool) shares its sockets with the parent,
so each process makes its own on first use.

Every failure becomes one project exception here, and what it becomes depends on what the
request was (``Purpose``): a placement that may have reached OANDA is BrokerStateUnknown
(look the order up by its client id before sending anything again), never a plain retry.
The token travels only in the Authorization header; no message here ever contains it.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from typing import Any
from urllib.parse import quote

import httpx

from trading.errors import (
    BrokerStateUnknown,
    BrokerUnavailable,
    OperationalError,
    OrderNotFound,
    OrderRejected,
    RequestRefused,
    TemporaryError,
    TvbridgeError,
)

log = logging.getLogger(__name__)

HOSTS = {
    "practice": "https://api-fxpractice.oanda.com",
    "live": "https://api-fxtrade.oanda.com",
}
CONNECT_TIMEOUT_SECONDS = 3.0
# Requests are sequential per Celery process; the web's threads share one client.
MAX_CONNECTIONS = 8
KEEPALIVE_EXPIRY_SECONDS = 60.0


class Purpose(enum.Enum):
    """What a request does, which decides what its failure means."""

    READ = "read"  # summary, positions, pending orders: no answer is "unknown", never empty
    LOOKUP = "lookup"  # one order or transaction by id: 404 means it does not exist
    PLACE = "place"  # creates orders: an unanswered one may have been carried out
    CANCEL = "cancel"  # 404 means no such pending order


class OandaRejected(OrderRejected):
    """OANDA refused an order; ``reject_reason`` is its code (``INSUFFICIENT_MARGIN``...)."""

    def __init__(self, reason: str, *, code: int | None, reject_reason: str | None) -> None:
        super().__init__(reason, code=code)
        self.reject_reason = reject_reason


def base_url(environment: str, override: str = "") -> str:
    """OANDA_URL when set, else the practice or live host for OANDA_ENV."""
    if override:
        return override.rstrip("/")
    try:
        return HOSTS[environment]
    except KeyError:
        raise OperationalError(
            f"OANDA_ENV={environment!r} is not practice or live (or set OANDA_URL)"
        ) from None


def path(*parts: str) -> str:
    """A URL path from parts, each quoted: client ids and instruments never change the path."""
    return "/" + "/".join(quote(part, safe="@") for part in parts)


class OandaHttp:
    """Requests to one OANDA account, translated into project exceptions."""

    def __init__(
        self,
        url: str,
        token: str,
        account_id: str,
        *,
        read_timeout: float,
        place_timeout: float,
    ) -> None:
        self.url = url
        self.account_id = account_id
        self.read_timeout = read_timeout
        self.place_timeout = place_timeout
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept-Datetime-Format": "RFC3339",
            "Content-Type": "application/json",
            "User-Agent": "tvbridge",
        }
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._client_pid: int | None = None

    def account_path(self, *parts: str) -> str:
        return path("v3", "accounts", self.account_id, *parts)

    def request(
        self,
        method: str,
        url_path: str,
        purpose: Purpose,
        *,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The JSON of a 2xx answer; any other outcome raises what it means for ``purpose``."""
        seconds = timeout or (self.place_timeout if purpose is Purpose.PLACE else self.read_timeout)
        limits = httpx.Timeout(seconds, connect=min(CONNECT_TIMEOUT_SECONDS, seconds))
        what = f"{method} {url_path}"
        try:
            response = self._session().request(method, url_path, json=body, timeout=limits)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # No connection, so the request never left this machine: safe to send again.
            raise BrokerUnavailable(
                f"OANDA at {self.url} cannot be reached ({type(error).__name__}: {error}); "
                "nothing was sent"
            ) from error
        except httpx.TransportError as error:
            if purpose is Purpose.PLACE:
                raise BrokerStateUnknown(
                    f"{what}: no complete answer from OANDA within {seconds:g}s "
                    f"({type(error).__name__}); the order may exist: look it up by its "
                    "client id before sending it again"
                ) from error
            raise TemporaryError(f"{what}: {type(error).__name__}: {error}") from error
        if not response.is_success:
            raise self._failure(what, purpose, response)
        try:
            return _json(response)
        except TemporaryError as error:
            if purpose is Purpose.PLACE:
                raise BrokerStateUnknown(f"{what}: {error}; the order may exist") from error
            raise

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._client_pid == os.getpid():
                self._client.close()
            self._client = None

    def _session(self) -> httpx.Client:
        pid = os.getpid()
        with self._lock:
            if self._client is None or self._client_pid != pid:
                self._client = httpx.Client(
                    base_url=self.url,
                    headers=self._headers,
                    limits=httpx.Limits(
                        max_connections=MAX_CONNECTIONS,
                        max_keepalive_connections=MAX_CONNECTIONS,
                        keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
                    ),
                    follow_redirects=False,
                )
                self._client_pid = pid
            return self._client

    def _failure(self, what: str, purpose: Purpose, response: httpx.Response) -> TvbridgeError:
        status = response.status_code
        body = _json_or_empty(response)
        message = oanda_message(body) or response.reason_phrase or "no message"
        expected = status == 404 and purpose is Purpose.LOOKUP
        log.log(
            logging.DEBUG if expected else logging.WARNING,
            "OANDA answered %s to %s: %s",
            status,
            what,
            message,
        )
        if status == 401:
            return OperationalError(
                f"OANDA refused OANDA_API_TOKEN (401: {message}); it is missing, mistyped, "
                "revoked, or for the other environment (OANDA_ENV practice vs live)"
            )
        if status == 403:
            return OperationalError(
                f"OANDA_API_TOKEN may not use OANDA_ACCOUNT_ID={self.account_id} "
                f"(403: {message}); check the account belongs to the token's user"
            )
        if status == 429:
            return TemporaryError(f"{what}: OANDA rate limit (429): {message}")
        if status >= 500:
            if purpose is Purpose.PLACE:
                return BrokerStateUnknown(
                    f"{what}: OANDA failed ({status}: {message}); the order may exist: "
                    "look it up by its client id before sending it again"
                )
            return TemporaryError(f"{what}: OANDA failed ({status}: {message})")
        if status == 404 and purpose in (Purpose.LOOKUP, Purpose.CANCEL):
            return OrderNotFound(f"OANDA: {message}")
        if purpose is Purpose.PLACE and (status == 400 or _rejection(body) is not None):
            return OandaRejected(
                f"OANDA rejected the order: {message}",
                code=status,
                reject_reason=reject_reason(body),
            )
        if status == 404:
            return OperationalError(
                f"{what}: OANDA answered 404 ({message}); check OANDA_ACCOUNT_ID="
                f"{self.account_id} and OANDA_URL={self.url}"
            )
        return RequestRefused(
            f"{what}: OANDA refused the request ({status}: {message})", code=status
        )


def oanda_message(body: dict[str, Any]) -> str:
    """OANDA's own words for a failure: ``errorMessage`` and the reject reason, if any."""
    parts = []
    if body.get("errorMessage"):
        parts.append(str(body["errorMessage"]))
    reason = reject_reason(body)
    if reason and reason not in parts:
        parts.append(f"[{reason}]")
    return " ".join(parts)


def reject_reason(body: dict[str, Any]) -> str | None:
    rejection = _rejection(body) or {}
    reason = rejection.get("rejectReason") or body.get("errorCode")
    return None if reason is None else str(reason)


def _rejection(body: dict[str, Any]) -> dict[str, Any] | None:
    for key, value in body.items():
        if key.endswith("RejectTransaction") and isinstance(value, dict):
            return value
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError as error:
        raise TemporaryError(
            f"OANDA answered {response.status_code} with a body that is not JSON"
        ) from error
    if not isinstance(parsed, dict):
        raise TemporaryError(f"OANDA answered {response.status_code} with unexpected JSON")
    return parsed


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
