"""Errors an RPC handler raises; the RPC server turns each into a reply of that ``kind``."""

from __future__ import annotations

from trading.brokers import ibkr_protocol as wire


class RpcError(Exception):
    kind = wire.TEMPORARY

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Unavailable(RpcError):
    """Not executed: the gateway cannot serve now. Safe to send again later."""

    kind = wire.UNAVAILABLE


class Rejected(RpcError):
    kind = wire.REJECTED


class NotFound(RpcError):
    kind = wire.NOT_FOUND


class NotCancellable(RpcError):
    kind = wire.NOT_CANCELLABLE


class OutcomeUnknown(RpcError):
    """The connection broke after the request went to IB: it may have been executed."""

    kind = wire.UNKNOWN


class InvalidRequest(RpcError):
    kind = wire.INVALID
