"""Why IB would refuse an order (error 201), as text, or None when it is acceptable."""

from __future__ import annotations

from ibsim.catalogue import Instrument
from ibsim.matching import price_on_tick
from ibsim.model import SUPPORTED_ORDER_TYPES, SUPPORTED_TIFS
from ibsim.place_order import OrderTicket

NEEDS_LIMIT = frozenset({"LMT", "STP LMT"})
NEEDS_STOP = frozenset({"STP", "STP LMT"})


def order_problem(ticket: OrderTicket, instrument: Instrument, accounts: list[str]) -> str | None:
    order_type = ticket.text("orderType").upper()
    if order_type not in SUPPORTED_ORDER_TYPES:
        return f"Unsupported order type {order_type or '(none)'}"
    tif = ticket.text("tif").upper() or "DAY"
    if tif not in SUPPORTED_TIFS:
        return f"Unsupported time in force {tif}"
    if instrument.sec_type in ("IND", "CONTFUT"):
        return f"{instrument.sec_type} contracts are not tradable"
    if ticket.text("action").upper() not in ("BUY", "SELL"):
        return f"Invalid action {ticket.text('action')!r}"
    account = ticket.text("account")
    if account and account not in accounts:
        return f"Invalid account {account}"
    try:
        quantity = float(ticket.text("totalQuantity") or 0)
    except ValueError:
        return "Invalid order size"
    cash_quantity = ticket.number("cashQty") or 0.0
    if quantity <= 0 and cash_quantity <= 0:
        return "Order size must be positive"
    return _price_problem(ticket, order_type, instrument)


def _price_problem(ticket: OrderTicket, order_type: str, instrument: Instrument) -> str | None:
    limit = ticket.number("lmtPrice")
    stop = ticket.number("auxPrice")
    if order_type in NEEDS_LIMIT and (limit is None or limit <= 0):
        return "Invalid limit price"
    if order_type in NEEDS_STOP and (stop is None or stop <= 0):
        return "Invalid stop price"
    if order_type == "TRAIL":
        percent = ticket.number("trailingPercent")
        if (stop is None or stop <= 0) and (percent is None or percent <= 0):
            return "Trailing amount or trailing percent required"
        return None
    for price in (
        limit if order_type in NEEDS_LIMIT else None,
        stop if order_type in NEEDS_STOP else None,
    ):
        if price is not None and not price_on_tick(price, instrument.min_tick):
            return "The price does not conform to the minimum price variation for this contract."
    return None
