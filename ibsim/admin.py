"""The admin API: HTTP/1.1 with JSON bodies, served on loopback next to the API port."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ibsim.admin_actions import apply_config, apply_fault, force_fill, set_prices
from ibsim.admin_views import (
    accounts_view,
    executions_view,
    health_view,
    orders_view,
    positions_view,
    prices_view,
)

if TYPE_CHECKING:
    from ibsim.server import IBSim

log = logging.getLogger("ibsim.admin")

MAX_BODY = 1 << 20
Query = dict[str, str]
Route = Callable[["IBSim", Query, Any], tuple[int, Any]]


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _get(view: Callable[[IBSim, Query], Any]) -> Route:
    return lambda sim, query, body: (200, view(sim, query))


def state_view(sim: IBSim, query: Query) -> dict[str, Any]:
    return {
        "health": health_view(sim, query),
        "orders": orders_view(sim, query),
        "positions": positions_view(sim, query),
        "executions": executions_view(sim, query),
        "accounts": accounts_view(sim, query),
        "prices": prices_view(sim, query),
        "faults": sim.faults.describe(),
    }


def _faults(sim: IBSim, query: Query) -> dict[str, Any]:
    return sim.faults.describe()


def _reset(sim: IBSim, query: Query, body: Any) -> tuple[int, Any]:
    sim.reset()
    return 200, {"ok": True}


def _new_day(sim: IBSim, query: Query, body: Any) -> tuple[int, Any]:
    sim.engine.start_new_day()
    return 200, {"ok": True}


def _global_cancel(sim: IBSim, query: Query, body: Any) -> tuple[int, Any]:
    sim.engine.global_cancel()
    return 200, {"ok": True}


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/health"): _get(health_view),
    ("GET", "/orders"): _get(orders_view),
    ("GET", "/positions"): _get(positions_view),
    ("GET", "/executions"): _get(executions_view),
    ("GET", "/accounts"): _get(accounts_view),
    ("GET", "/prices"): _get(prices_view),
    ("GET", "/faults"): _get(_faults),
    ("GET", "/state"): _get(state_view),
    ("POST", "/prices"): set_prices,
    ("POST", "/faults"): apply_fault,
    ("POST", "/fills"): force_fill,
    ("POST", "/config"): apply_config,
    ("POST", "/reset"): _reset,
    ("POST", "/new_day"): _new_day,
    ("POST", "/global_cancel"): _global_cancel,
}


async def start_admin(sim: IBSim, port: int) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, payload = await _handle(sim, reader)
        except AdminError as exc:
            status, payload = exc.status, {"error": str(exc)}
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        except Exception as exc:
            log.exception("admin request failed")
            status, payload = 500, {"error": repr(exc)}
        body = json.dumps(payload, default=str).encode()
        reason = HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        try:
            await writer.drain()
        finally:
            writer.close()

    # Loopback only, whatever host the API port uses: the admin API has no authentication.
    return await asyncio.start_server(serve, "127.0.0.1", port, reuse_address=True)


async def _handle(sim: IBSim, reader: asyncio.StreamReader) -> tuple[int, Any]:
    request_line = (await reader.readline()).decode("latin-1").strip()
    if not request_line:
        raise AdminError(400, "empty request")
    parts = request_line.split()
    if len(parts) < 2:
        raise AdminError(400, "bad request line")
    method, target = parts[0].upper(), parts[1]
    length = 0
    while True:
        line = (await reader.readline()).decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    if length > MAX_BODY:
        raise AdminError(413, "body too large")
    raw = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    query = {key: values[-1] for key, values in parse_qs(url.query).items()}
    path = url.path.rstrip("/") or "/"
    route = ROUTES.get((method, path))
    if route is None:
        known = {p for _, p in ROUTES}
        raise AdminError(405 if path in known else 404, f"no route {method} {path}")
    try:
        body = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise AdminError(400, f"invalid JSON: {exc}") from exc
    log.debug("admin %s %s %s", method, path, body)
    if not isinstance(body, dict):
        raise AdminError(400, "the body must be a JSON object")
    try:
        return route(sim, query, body)
    except (KeyError, ValueError, TypeError) as exc:
        raise AdminError(400, f"bad request: {exc!r}") from exc
