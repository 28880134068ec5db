"""The IBKR broker as workers and the web see it: an RPC client of the gateway process.

Synchronous (Celery workers call it), plain redis-py: no ib_async here. Each error kind in
the gateway's replies becomes one project exception, in one table (``REPLY_ERRORS``); no
reply in time for a placement is ``BrokerStateUnknown`` (the order may be at IB, so the
caller looks it up by reference before anything is sent again).

A placement's deadline is the earlier of ``place_timeout`` and the alert's own expiry, so the
gateway drops (``expired``) rather than places an order whose alert is over age.

Before sending, the gateway's published health is read: when the gateway is not running or
not connected, nothing is sent and ``BrokerUnavailable`` is raised at once.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict
from typing import Any, cast

import redis

from trading.brokers import ibkr_protocol as wire
from trading.brokers import port
from trading.errors import (
    BrokerStateUnknown,
    BrokerUnavailable,
    NotCancellable,
    OrderNotFound,
    OrderRejected,
    RequestInvalid,
    RequestRefused,
    TemporaryError,
    TvbridgeError,
)
from trading.retry import retrier

log = logging.getLogger(__name__)
HEALTH_READ_TIMEOUT_SECONDS = 0.25
PLACEMENT = "place_order"
# Exits that ride on the entry (OANDA's way). IB takes a bracket's exits as orders of their
# own (``parent_reference``, ``oca_group``), so these are refused here, never dropped.
ATTACHED_EXIT_FIELDS = ("take_profit_price", "stop_loss_price", "trailing_stop_distance")

# What each reply kind means for the caller: (error for a placement, error for any other
# request). A placement may only be retried blindly when it provably did not run.
REPLY_ERRORS: dict[str, tuple[type[TvbridgeError], type[TvbridgeError]]] = {
    wire.UNAVAILABLE: (BrokerUnavailable, BrokerUnavailable),
    wire.EXPIRED: (BrokerUnavailable, BrokerUnavailable),
    wire.REJECTED: (OrderRejected, RequestRefused),
    wire.NOT_FOUND: (OrderNotFound, OrderNotFound),
    wire.NOT_CANCELLABLE: (NotCancellable, NotCancellable),
    wire.UNKNOWN: (BrokerStateUnknown, TemporaryError),
    # The gateway could not read the request: sending the same one again cannot help.
    wire.INVALID: (OrderRejected, RequestInvalid),
    wire.TEMPORARY: (TemporaryError, TemporaryError),
}
# A kind this client does not know (a newer gateway): a placement may have run.
UNKNOWN_KIND_ERRORS: tuple[type[TvbridgeError], type[TvbridgeError]] = (
    BrokerStateUnknown,
    TemporaryError,
)


class IbkrBroker:
    name = "ibkr"
    capabilities = port.Capabilities(
        order_types=frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"}),
        # IB refuses fractional shares through the API; planning rejects them up front.
        fractional_quantities=False,
        short_selling=True,
        asset_classes=frozenset({"STK", "CASH"}),
        attached_exits=False,
    )

    def __init__(
        self, redis_url: str, *, rpc_timeout: float = 5.0, place_timeout: float = 10.0
    ) -> None:
        self._rpc_timeout = rpc_timeout
        self._place_timeout = place_timeout
        longest = max(rpc_timeout, place_timeout)
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=longest + 2, socket_connect_timeout=1.0
        )
        # /health must answer fast even when Redis or the gateway is in trouble.
        self._health_redis = redis.Redis.from_url(
            redis_url,
            socket_timeout=HEALTH_READ_TIMEOUT_SECONDS,
            socket_connect_timeout=HEALTH_READ_TIMEOUT_SECONDS,
        )

    # --- orders -----------------------------------------------------------------------

    @retrier(0)
    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        attached = [name for name in ATTACHED_EXIT_FIELDS if getattr(request, name) is not None]
        if attached:
            raise OrderRejected(
                f"{request.reference}: IB takes a bracket's exits as child orders "
                "(parent_reference, oca_group), not attached to the entry; "
                f"refused: {', '.join(attached)}"
            )
        params = {k: v for k, v in asdict(request).items() if v is not None and k != "not_after"}
        deadline = time.time() + self._place_timeout
        if request.not_after is not None:
            deadline = min(deadline, request.not_after.timestamp())
        if deadline <= time.time():
            raise BrokerUnavailable(
                f"{request.reference}: the alert reached its maximum age; nothing sent"
            )
        result = self._call(
            PLACEMENT,
            params,
            deadline=deadline,
            idem=request.reference,
            need_tradeable=True,
            may_have_run=True,
        )
        return wire.order_from_wire(result)

    @retrier(3)
    def cancel(self, reference: str) -> port.BrokerOrder:
        result = self._call("cancel_order", {"reference": reference}, idem=reference)
        return wire.order_from_wire(result)

    @retrier(3)
    def cancel_ours(self) -> list[str]:
        """Cancel every open order carrying a tvbridge reference (never manual orders)."""
        result = self._call("cancel_ours", {})
        return list(result["cancelled"])

    @retrier(3)
    def order_by_reference(self, reference: str) -> port.BrokerOrder | None:
        result = self._call("order_status", {"reference": reference})
        return None if result is None else wire.order_from_wire(result)

    @retrier(3)
    def open_orders(self) -> list[port.BrokerOrder]:
        return [wire.order_from_wire(item) for item in self._call("open_orders", {})]

    @retrier(3)
    def executions(self) -> list[dict[str, Any]]:
        return list(self._call("executions", {}))

    # --- account ----------------------------------------------------------------------

    @retrier(3)
    def positions(self) -> list[port.Position]:
        return [wire.position_from_wire(item) for item in self._call("positions", {})]

    @retrier(3)
    def position_in(self, instrument: port.Instrument) -> port.InstrumentPosition:
        """The account's position in the contract ``instrument`` resolves to (matched by
        conId) and our orders working on it. A gateway that is down, or a read cut short,
        raises; it never answers "flat". An instrument IB has no single contract for is
        OrderRejected: nothing can be placed for it."""
        try:
            result = self._call(wire.POSITION_IN, dict(wire.instrument_to_wire(instrument)))
        except RequestRefused as error:
            raise OrderRejected(error.reason, code=error.code) from error
        return wire.instrument_position_from_wire(result)

    @retrier(3)
    def account_summary(self) -> port.AccountSummary:
        return wire.summary_from_wire(self._call("account_summary", {})["summary"])

    @retrier(3)
    def account(self) -> tuple[port.AccountSummary, list[port.Position]]:
        """Summary and positions (with market price and unrealized PnL) in one request."""
        result = self._call("account_summary", {})
        positions = [wire.position_from_wire(item) for item in result["positions"]]
        return wire.summary_from_wire(result["summary"]), positions

    @retrier(3)
    def resolve_contract(
        self,
        symbol: str,
        *,
        exchange: str | None = None,
        sec_type: str | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        params = {
            "symbol": symbol,
            "exchange": exchange,
            "sec_type": sec_type,
            "currency": currency,
        }
        return dict(self._call("resolve_contract", params))

    def health(self) -> port.BrokerHealth:
        """From the health the gateway publishes every second: never waits on the gateway."""
        try:
            published = self._published_health()
        except redis.RedisError as error:
            return port.BrokerHealth(False, False, detail={"error": f"Redis: {error}"})
        if published is None:
            return port.BrokerHealth(
                False, False, detail={"error": "the IBKR gateway is not running (no health)"}
            )
        return port.BrokerHealth(
            connected=bool(published.get("connected")),
            tradeable=bool(published.get("tradeable")),
            latency_ms=published.get("latency_ms"),
            detail={
                k: published.get(k)
                for k in (
                    "reconciled",
                    "server_version",
                    "accounts",
                    "reason",
                    "last_probe_at",
                    "reconnects",
                    "foreign_open_orders",
                )
            },
        )

    # --- transport --------------------------------------------------------------------

    def _published_health(self) -> dict[str, Any] | None:
        raw = cast("bytes | None", self._health_redis.get(wire.HEALTH_KEY))
        return None if raw is None else dict(json.loads(raw))

    def _call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        deadline: float | None = None,
        idem: str | None = None,
        need_tradeable: bool = False,
        may_have_run: bool = False,
    ) -> Any:
        deadline = deadline or time.time() + self._rpc_timeout
        self._check_gateway(need_tradeable)
        request_id = uuid.uuid4().hex
        reply_key = wire.REPLY_PREFIX + request_id
        fields: dict[Any, Any] = {
            "id": request_id,
            "method": method,
            "params": wire.dumps(params),
            "idem": idem or request_id,
            "deadline": repr(deadline),
            "reply": reply_key,
        }
        try:
            self._redis.xadd(
                wire.REQUESTS_STREAM, fields, maxlen=wire.REQUESTS_MAXLEN, approximate=True
            )
        except redis.RedisError as error:
            if may_have_run:
                raise BrokerStateUnknown(
                    f"{method}: request may have reached Redis: {error}"
                ) from error
            raise TemporaryError(f"{method}: Redis: {error}") from error
        timeout = max(deadline - time.time(), 0.0)
        try:
            # A little past the deadline: the gateway answers "expired" or "unknown" itself.
            answer = self._redis.blpop([reply_key], timeout=timeout + 0.5)
        except redis.RedisError as error:
            answer = None
            log.warning("%s: waiting for the reply failed: %s", method, error)
        if answer is None:
            if may_have_run:
                raise BrokerStateUnknown(
                    f"{method}: no answer from the IBKR gateway within {timeout:.1f}s; "
                    "the order may have been placed"
                )
            raise TemporaryError(f"{method}: no answer from the IBKR gateway within {timeout:.1f}s")
        return _result(method, json.loads(cast("list[bytes]", answer)[1]))

    def _check_gateway(self, need_tradeable: bool) -> None:
        try:
            published = self._published_health()
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis does not answer: {error}") from error
        if published is None:
            raise BrokerUnavailable("the IBKR gateway is not running")
        if not published.get("serving"):
            raise BrokerUnavailable(published.get("reason") or "IB gateway not connected")
        if need_tradeable and not published.get("tradeable"):
            raise BrokerUnavailable(published.get("reason") or "IB is not tradeable")


def reply_error(method: str, error: dict[str, Any]) -> TvbridgeError:
    """The exception a failed reply stands for: one table, keyed by kind and by whether the
    request was a placement."""
    kind, message, code = error.get("kind"), str(error.get("message")), error.get("code")
    placement, other = REPLY_ERRORS.get(str(kind), UNKNOWN_KIND_ERRORS)
    cls = placement if method == PLACEMENT else other
    if issubclass(cls, OrderRejected | RequestRefused):
        return cls(message, code=code)
    if issubclass(cls, OrderNotFound | NotCancellable):
        return cls(message)
    return cls(f"{method}: {kind}: {message}")


def _result(method: str, reply: dict[str, Any]) -> Any:
    if reply.get("ok"):
        return reply.get("result")
    raise reply_error(method, reply.get("error") or {})
