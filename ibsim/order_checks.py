"""Why IB would refuse an order, as IB's code and text, or None when it is acceptable."""

from __future__ import annotations

from ibsim.catalogue import Instrument
from ibsim.codes import (
    CONTINUOUS_FUTURE_TEXT,
    FRACTIONAL_NOT_VIA_API,
    FRACTIONAL_NOT_VIA_API_TEXT,
    ORDER_REJECTED,
    PRICE_OFF_TICK,
    PRICE_OFF_TICK_TEXT,
    VALIDATION_ERROR,
    Refusal,
)
from ibsim.matching import price_on_tick
from ibsim.model import SUPPORTED_ORDER_TYPES, SUPPORTED_TIFS
from ibsim.place_order import OrderTicket

NEEDS_LIMIT = frozenset({"LMT", "STP LMT"})
NEEDS_STOP = frozenset({"STP", "STP LMT"})
# IB's API takes fractional sizes only for forex and crypto; everything else trades whole units.
FRACTIONAL_SEC_TYPES = frozenset({"CASH", "CRYPTO"})
EPSILON = 1e-9


def rejected(reason: str) -> Refusal:
    return Refusal(ORDER_REJECTED, f"Order rejected - reason:{reason}")


def as_modification(refusal: Refusal) -> Refusal:
    """The refusal of a modification: 321, not 201, as the order stays live (and clients treat
    321 as a warning); 110 and the others keep their code."""
    if refusal.code != ORDER_REJECTED:
        return refusal
    reason = refusal.text.removeprefix("Order rejected - reason:")
    return Refusal(VALIDATION_ERROR, f"Error validating request.-'bW' : cause - {reason}")


def order_problem(
    ticket: OrderTicket, instrument: Instrument, accounts: list[str]
) -> Refusal | None:
    # Checked on the contract as sent: the engine resolves a CONTFUT to its front month for
    # lookups, and checking only the resolved contract would let the order through.
    if ticket.contract.get("secType", "").upper() == "CONTFUT":
        return Refusal(VALIDATION_ERROR, CONTINUOUS_FUTURE_TEXT)
    order_type = ticket.text("orderType").upper()
    if order_type not in SUPPORTED_ORDER_TYPES:
        return rejected(f"Unsupported order type {order_type or '(none)'}")
    tif = ticket.text("tif").upper() or "DAY"
    if tif not in SUPPORTED_TIFS:
        return rejected(f"Unsupported time in force {tif}")
    if instrument.sec_type in ("IND", "CONTFUT"):
        return rejected(f"{instrument.sec_type} contracts are not tradable")
    if ticket.text("action").upper() not in ("BUY", "SELL"):
        return rejected(f"Invalid action {ticket.text('action')!r}")
    account = ticket.text("account")
    if account and account not in accounts:
        return rejected(f"Invalid account {account}")
    try:
        quantity = float(ticket.text("totalQuantity") or 0)
    except ValueError:
        return rejected("Invalid order size")
    cash_quantity = ticket.number("cashQty") or 0.0
    if quantity <= 0 and cash_quantity <= 0:
        return rejected("Order size must be positive")
    if (
        instrument.sec_type not in FRACTIONAL_SEC_TYPES
        and abs(quantity - round(quantity)) > EPSILON
    ):
        return Refusal(FRACTIONAL_NOT_VIA_API, FRACTIONAL_NOT_VIA_API_TEXT)
    return _price_problem(ticket, order_type, instrument)


def _price_problem(ticket: OrderTicket, order_type: str, instrument: Instrument) -> Refusal | None:
    limit = ticket.number("lmtPrice")
    stop = ticket.number("auxPrice")
    if order_type in NEEDS_LIMIT and (limit is None or limit <= 0):
        return rejected("Invalid limit price")
    if order_type in NEEDS_STOP and (stop is None or stop <= 0):
        return rejected("Invalid stop price")
    if order_type == "TRAIL":
        percent = ticket.number("trailingPercent")
        if (stop is None or stop <= 0) and (percent is None or percent <= 0):
            return rejected("Trailing amount or trailing percent required")
        return None
    for price in (
        limit if order_type in NEEDS_LIMIT else None,
        stop if order_type in NEEDS_STOP else None,
    ):
        if price is not None and not price_on_tick(price, instrument.min_tick):
            # 110, not 201: clients treat it differently (ib_async cancels a new order on it
            # but keeps a modified one working).
            return Refusal(PRICE_OFF_TICK, PRICE_OFF_TICK_TEXT)
    return None
