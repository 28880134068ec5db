"""IB's message codes and texts for what ibsim refuses, named once so every refusal matches IB."""

from __future__ import annotations

from typing import NamedTuple

DUPLICATE_ORDER_ID = 103
CANNOT_MODIFY_FILLED = 104
PRICE_OFF_TICK = 110
NO_SECURITY_DEFINITION = 200
ORDER_REJECTED = 201
ORDER_CANCELLED = 202
VALIDATION_ERROR = 321
CANCEL_UNKNOWN_ORDER = 10147
CANCEL_FINISHED_ORDER = 10148
FRACTIONAL_NOT_VIA_API = 10243

PRICE_OFF_TICK_TEXT = "The price does not conform to the minimum price variation for this contract."
NO_SECURITY_DEFINITION_TEXT = "No security definition has been found for the request"
FRACTIONAL_NOT_VIA_API_TEXT = (
    "Fractional-sized order cannot be placed via API. "
    "Please use desktop version to place this order."
)
# IB wants the dated contract for an order; a continuous future is for data and lookups only.
CONTINUOUS_FUTURE_TEXT = (
    "Error validating request.-'bW' : cause - Invalid contract: orders cannot be placed on a "
    "CONTFUT contract, use the dated FUT contract"
)

INSUFFICIENT_FUNDS = (
    "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION "
    "YOUR EQUITY WITH LOAN VALUE MUST EXCEED THE INITIAL MARGIN"
)


class Refusal(NamedTuple):
    """An error IB answers instead of accepting an order: its code and full text."""

    code: int
    text: str


def cancel_unknown_text(order_id: int) -> str:
    return f"OrderId {order_id} that needs to be cancelled is not found."


def cancel_finished_text(order_id: int, status: str) -> str:
    return f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {status}."
