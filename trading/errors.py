"""Exceptions whose names say what the caller should do.

Broker adapters translate vendor errors into these at their boundary (``raise ... from``),
so nothing above them sees ib_async, OANDA or SQL exceptions.
"""

from __future__ import annotations


class TvbridgeError(Exception):
    """Base of every tvbridge error."""


class TemporaryError(TvbridgeError):
    """Transient: retry with back-off (network blip, broker reconnecting, database busy)."""


class BrokerUnavailable(TemporaryError):
    """The broker cannot take orders right now (disconnected, not tradeable). Wait and retry."""


class OrderRejected(TvbridgeError):
    """The broker refused the order. Terminal: record the reason, never retry."""

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class BrokerStateUnknown(TvbridgeError):
    """The outcome is unknown (timeout after sending). Never resubmit blindly: reconcile by
    the order reference first."""


class RequestRefused(TvbridgeError):
    """The broker refused a request that places nothing (a read, a lookup, a cancel). Not an
    order rejection and not worth retrying as sent: report it and let a human look."""

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class OrderNotFound(TvbridgeError):
    """No order with that id or reference."""


class NotCancellable(TvbridgeError):
    """The order is already finished (filled, cancelled or rejected)."""


class OperationalError(TvbridgeError):
    """Misconfiguration or broken invariant: a human is needed."""


class RequestInvalid(OperationalError):
    """The gateway could not read our request (unknown method, bad parameters): a bug or a
    version mismatch between worker and gateway. Sending it again cannot help; fix the code."""


class AlertInvalid(TvbridgeError):
    """The alert cannot be traded as sent; ``errors`` maps each field to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
