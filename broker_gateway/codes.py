"""IB message codes, grouped by what the gateway does about them.

IB sends informational notices, connectivity changes and real errors through one
``error`` callback; these named sets keep that decision in one place.
"""

from __future__ import annotations

# IB lost its connection to IB's servers; the API socket is still fine. Hold, do not trade.
CONNECTIVITY_LOST = frozenset({1100})
# Restored with data kept: resume trading.
CONNECTIVITY_RESTORED_DATA_KEPT = frozenset({1102})
# Restored but subscriptions were lost: resynchronise and resubscribe before trading.
CONNECTIVITY_RESTORED_DATA_LOST = frozenset({1101})
# Another session holds our client id: back off and retry with the SAME id (orders are bound
# to it), never switch to a random one.
CLIENT_ID_IN_USE = frozenset({326})
# "Not connected" from the server side.
NOT_CONNECTED = frozenset({504})
# The order was refused; terminal, never retried.
ORDER_REJECTED = frozenset({103, 104, 110, 200, 201, 203, 321, 382, 383, 387, 434, 451})
# The order was cancelled by IB (e.g. price too far through the market).
ORDER_CANCELLED = frozenset({202})
# Cancelling an order IB does not know, or that is already done.
CANCEL_UNKNOWN_ORDER = frozenset({10147, 135, 161})
CANCEL_ORDER_DONE = frozenset({10148, 10149})
# Unknown or ambiguous contract.
CONTRACT_UNKNOWN = frozenset({200})
# Farm status notices and other informational messages: log only, never act.
WARNINGS = frozenset(
    {2103, 2104, 2105, 2106, 2107, 2108, 2110, 2119, 2157, 2158, 10167, 10349, 399, 404}
)
# Pacing violation: must never happen with our pacer in front of ib_async.
PACING_VIOLATION = frozenset({100})
