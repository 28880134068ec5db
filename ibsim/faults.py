"""Failures the admin API can arm: injected errors, delays, refusals, dropped sockets."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ibsim.place_order import OrderTicket

ERROR_TEXT = {
    100: "Max rate of messages per second has been exceeded",
    103: "Duplicate order id",
    104: "Can't modify a filled order",
    110: "The price does not conform to the minimum price variation for this contract.",
    162: "Historical Market Data Service error message:HMDS query returned no data",
    200: "No security definition has been found for the request",
    201: "Order rejected - reason:Simulated rejection",
    202: "Order Canceled - reason:",
    203: "The security is not available or allowed for this account.",
    321: "Error validating request",
    354: "Requested market data is not subscribed.",
    399: "Order message error",
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
    2103: "Market data farm connection is broken:usfarm",
    2104: "Market data farm connection is OK:usfarm",
    2105: "HMDS data farm connection is broken:ushmds",
    2106: "HMDS data farm connection is OK:ushmds",
    2110: "Connectivity between Trader Workstation and server is broken. It will be restored automatically.",  # noqa: E501
    2157: "Sec-def data farm connection is broken:secdefnj",
    2158: "Sec-def data farm connection is OK:secdefnj",
}


def error_text(code: int) -> str:
    return ERROR_TEXT.get(code, f"Simulated error {code}")


@dataclass
class ErrorFault:
    """Answer a matching order or request with ``code`` instead of serving it."""

    code: int
    message: str
    order_ref: str | None = None
    next_order: bool = False
    # A request message id (e.g. 9 for reqContractDetails); None with next_order unset
    # and no order_ref means "the next order or request of any kind".
    request_id: int | None = None
    remaining: int = 1

    def matches_order(self, ticket: OrderTicket) -> bool:
        if self.order_ref is not None:
            return ticket.text("orderRef") == self.order_ref
        return self.next_order or self.request_id is None

    def matches_request(self, message_id: int) -> bool:
        if self.order_ref is not None or self.next_order:
            return False
        return self.request_id is None or self.request_id == message_id


@dataclass
class Faults:
    errors: list[ErrorFault] = field(default_factory=list)
    delay_seconds: float = 0.0
    refuse_until: float = 0.0
    # None: not armed; True/False: drop the socket after the next placeOrder, which is
    # (True) or is not (False) booked before the drop.
    drop_after_place: bool | None = None
    next_valid_id_rollback: int = 0
    connectivity_lost: bool = False

    def take_order_error(self, ticket: OrderTicket) -> ErrorFault | None:
        return self._take(lambda fault: fault.matches_order(ticket))

    def take_request_error(self, message_id: int) -> ErrorFault | None:
        if not self.errors:
            return None
        return self._take(lambda fault: fault.matches_request(message_id))

    def _take(self, predicate: Callable[[ErrorFault], bool]) -> ErrorFault | None:
        for fault in self.errors:
            if predicate(fault):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.errors.remove(fault)
                return fault
        return None

    def take_drop_after_place(self) -> bool | None:
        armed, self.drop_after_place = self.drop_after_place, None
        return armed

    def take_rollback(self) -> int:
        rollback, self.next_valid_id_rollback = self.next_valid_id_rollback, 0
        return rollback

    def refusing(self) -> bool:
        return time.monotonic() < self.refuse_until

    def clear(self) -> None:
        self.errors.clear()
        self.delay_seconds = 0.0
        self.refuse_until = 0.0
        self.drop_after_place = None
        self.next_valid_id_rollback = 0
        self.connectivity_lost = False

    def describe(self) -> dict[str, object]:
        return {
            "errors": [fault.__dict__ for fault in self.errors],
            "delay_seconds": self.delay_seconds,
            "refusing_for": max(self.refuse_until - time.monotonic(), 0.0),
            "drop_after_place": self.drop_after_place,
            "next_valid_id_rollback": self.next_valid_id_rollback,
            "connectivity_lost": self.connectivity_lost,
        }
