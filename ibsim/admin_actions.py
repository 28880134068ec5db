"""Admin requests that change the simulator: prices, fills, faults, configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ibsim.admin_views import fill_view
from ibsim.catalogue import Instrument
from ibsim.faults import ErrorFault, error_text
from ibsim.model import SimOrder

if TYPE_CHECKING:
    from ibsim.server import IBSim

Query = dict[str, str]
Reply = tuple[int, Any]


def _instrument(sim: IBSim, body: dict[str, Any]) -> Instrument | None:
    if body.get("conId"):
        return sim.engine.catalogue.by_con_id(int(body["conId"]))
    return sim.engine.catalogue.by_symbol(str(body["symbol"]))


def set_prices(sim: IBSim, query: Query, body: Any) -> Reply:
    """``{"symbol": "AAPL", "price": 191.5}`` or ``{"prices": {"AAPL": 191.5, ...}}``."""
    updates = body.get("prices") or {body.get("symbol") or body.get("conId"): body["price"]}
    applied = []
    for symbol, price in updates.items():
        key = {"conId": symbol} if isinstance(symbol, int) else {"symbol": str(symbol)}
        instrument = _instrument(sim, key)
        if instrument is None:
            return 404, {"error": f"unknown symbol {symbol!r}"}
        if float(price) <= 0:
            return 400, {"error": "price must be positive"}
        sim.engine.set_price(instrument.con_id, float(price))
        applied.append(
            {"symbol": instrument.symbol, "conId": instrument.con_id, "price": float(price)}
        )
    return 200, applied[0] if len(applied) == 1 else applied


def _find_order(sim: IBSim, body: dict[str, Any]) -> SimOrder | None:
    engine = sim.engine
    if "permId" in body:
        return engine.orders.get(int(body["permId"]))
    if "orderRef" in body:
        matches = [o for o in engine.orders.values() if o.order_ref == body["orderRef"]]
        live = [o for o in matches if not o.finished]
        return live[-1] if live else (matches[-1] if matches else None)
    return engine.order_for(int(body.get("clientId", 0)), int(body["orderId"]))


def force_fill(sim: IBSim, query: Query, body: Any) -> Reply:
    """Fill a working order now: ``{"orderRef": ..., "quantity"?: n, "price"?: p}``."""
    order = _find_order(sim, body)
    if order is None:
        return 404, {"error": "no such order"}
    if not order.working:
        return 409, {"error": f"order is {order.status}, not working"}
    quantity = min(float(body.get("quantity") or order.remaining), order.remaining)
    price = float(body.get("price") or sim.engine.price(order.instrument.con_id))
    fill = sim.engine.execute(order, quantity, price)
    return 200, fill_view(fill)


# Request names accepted by the "error" fault besides raw message ids.
REQUEST_NAMES = {
    "market_data": 1,
    "open_orders": 5,
    "account_updates": 6,
    "executions": 7,
    "ids": 8,
    "contract_details": 9,
    "all_open_orders": 16,
    "historical_data": 20,
    "current_time": 49,
    "positions": 61,
    "account_summary": 62,
    "pnl": 92,
    "pnl_single": 94,
    "completed_orders": 99,
}


def _error_fault(body: dict[str, Any]) -> ErrorFault:
    code = int(body["code"])
    request = body.get("request")
    if isinstance(request, str) and not request.isdigit():
        request = REQUEST_NAMES[request]
    return ErrorFault(
        code=code,
        message=str(body.get("message") or error_text(code)),
        order_ref=body.get("order_ref", body.get("orderRef")),
        next_order=bool(body.get("next_order")),
        request_id=int(request) if request is not None else None,
        remaining=int(body.get("count", 1)),
    )


def apply_fault(sim: IBSim, query: Query, body: Any) -> Reply:
    kind = str(body["kind"])
    faults = sim.faults
    result: dict[str, Any] = {"ok": True, "kind": kind}
    if kind == "disconnect":
        result["dropped"] = sim.drop_connections()
        if body.get("refuse_seconds"):
            sim.refuse_connections(float(body["refuse_seconds"]))
    elif kind == "refuse":
        sim.refuse_connections(float(body.get("seconds", 5)))
    elif kind == "restart":
        faults.next_valid_id_rollback = int(body.get("rollback", 0))
        result["dropped"] = sim.drop_connections()
        sim.refuse_connections(float(body.get("seconds", 1)))
    elif kind == "error":
        faults.errors.append(_error_fault(body))
    elif kind == "connectivity":
        code = int(body.get("code", 1100))
        sim.broadcast_error(code, str(body.get("message", "")))
    elif kind == "next_valid_id_rollback":
        faults.next_valid_id_rollback = int(body.get("by", 10))
    elif kind == "delay":
        faults.delay_seconds = float(body.get("seconds", 1.0))
    elif kind == "drop_after_place":
        faults.drop_after_place = bool(body.get("accept", True))
    elif kind == "clear":
        faults.clear()
    else:
        return 400, {"error": f"unknown fault kind {kind!r}"}
    result["faults"] = faults.describe()
    return 200, result


CONFIG_KEYS = {
    "realism": bool,
    "max_fill_qty": float,
    "pacing_rate": float,
    "pacing_burst": float,
    "pacing_disconnect": bool,
}


def apply_config(sim: IBSim, query: Query, body: Any) -> Reply:
    """Change behaviour at run time, e.g. ``{"max_fill_qty": 30}`` for partial fills."""
    options = sim.options
    for key, value in body.items():
        if key not in CONFIG_KEYS:
            return 400, {"error": f"unknown setting {key!r}", "known": sorted(CONFIG_KEYS)}
        converted = None if value is None else CONFIG_KEYS[key](value)
        setattr(options, key, converted)
    sim.engine.config.realism = options.realism
    sim.engine.config.max_fill_qty = options.max_fill_qty or None
    for session in sim.connections:
        session.pacing.rate = options.pacing_rate
        session.pacing.burst = options.pacing_burst
    return 200, {key: getattr(options, key) for key in CONFIG_KEYS}
