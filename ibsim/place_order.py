"""Server-side decoding of ``placeOrder`` (message 3).

This mirrors the client encoders field for field, including every conditional block and
every server-version gate, so that each order field can be echoed back in ``openOrder``.
Values are kept as the text that arrived: the echo is then byte-faithful.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ibsim.wire import UNSET_DOUBLE, FieldCursor, parse_float

CONTRACT_FIELDS = (
    "conId",
    "symbol",
    "secType",
    "lastTradeDateOrContractMonth",
    "strike",
    "right",
    "multiplier",
    "exchange",
    "primaryExchange",
    "currency",
    "localSymbol",
    "tradingClass",
)

_HEAD = (
    "secIdType",
    "secId",
    "action",
    "totalQuantity",
    "orderType",
    "lmtPrice",
    "auxPrice",
    "tif",
    "ocaGroup",
    "account",
    "openClose",
    "origin",
    "orderRef",
    "transmit",
    "parentId",
    "blockOrder",
    "sweepToFill",
    "displaySize",
    "triggerMethod",
    "outsideRth",
    "hidden",
)
_FA = (
    "sharesAllocation",
    "discretionaryAmt",
    "goodAfterTime",
    "goodTillDate",
    "faGroup",
    "faMethod",
    "faPercentage",
)
_MIDDLE = (
    "modelCode",
    "shortSaleSlot",
    "designatedLocation",
    "exemptCode",
    "ocaType",
    "rule80A",
    "settlingFirm",
    "allOrNone",
    "minQty",
    "percentOffset",
    "eTradeOnly",
    "firmQuoteOnly",
    "nbboPriceCap",
    "auctionStrategy",
    "startingPrice",
    "stockRefPrice",
    "delta",
    "stockRangeLower",
    "stockRangeUpper",
    "overridePercentageConstraints",
    "volatility",
    "volatilityType",
    "deltaNeutralOrderType",
    "deltaNeutralAuxPrice",
)
_DELTA_NEUTRAL = (
    "deltaNeutralConId",
    "deltaNeutralSettlingFirm",
    "deltaNeutralClearingAccount",
    "deltaNeutralClearingIntent",
    "deltaNeutralOpenClose",
    "deltaNeutralShortSale",
    "deltaNeutralShortSaleSlot",
    "deltaNeutralDesignatedLocation",
)
_SCALE_HEAD = (
    "continuousUpdate",
    "referencePriceType",
    "trailStopPrice",
    "trailingPercent",
    "scaleInitLevelSize",
    "scaleSubsLevelSize",
    "scalePriceIncrement",
)
SCALE_FIELDS = (
    "scalePriceAdjustValue",
    "scalePriceAdjustInterval",
    "scaleProfitOffset",
    "scaleAutoReset",
    "scaleInitPosition",
    "scaleInitFillQty",
    "scaleRandomPercent",
)
_SCALE_TAIL = ("scaleTable", "activeStartTime", "activeStopTime", "hedgeType")
_CLEARING = ("optOutSmartRouting", "clearingAccount", "clearingIntent", "notHeld")
_MISC = ("algoId", "whatIf", "orderMiscOptions", "solicited", "randomizeSize", "randomizePrice")
_PEG_BENCH = (
    "referenceContractId",
    "isPeggedChangeAmountDecrease",
    "peggedChangeAmount",
    "referenceChangeAmount",
    "referenceExchangeId",
)
_TAIL = (
    "adjustedOrderType",
    "triggerPrice",
    "lmtPriceOffset",
    "adjustedStopPrice",
    "adjustedStopLimitPrice",
    "adjustedTrailingAmount",
    "adjustableTrailingUnit",
    "extOperator",
    "softDollarTierName",
    "softDollarTierValue",
    "cashQty",
    "mifid2DecisionMaker",
    "mifid2DecisionAlgo",
    "mifid2ExecutionTrader",
    "mifid2ExecutionAlgo",
    "dontUseAutoPriceForHedge",
    "isOmsContainer",
    "discretionaryUpToLimitPrice",
    "usePriceMgmtAlgo",
)
COMBO_LEG_FIELDS = (
    "conId",
    "ratio",
    "action",
    "exchange",
    "openClose",
    "shortSaleSlot",
    "designatedLocation",
    "exemptCode",
)
# Fields after condType on the wire, per condition type (Price, Time, Margin, Execution,
# Volume, PercentChange).
CONDITION_FIELD_COUNTS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}
PEG_BENCH_TYPES = frozenset({"PEG BENCH", "PEGBENCH"})
PEG_BEST_TYPES = frozenset({"PEG BEST", "PEGBEST"})
PEG_MID_TYPES = frozenset({"PEG MID", "PEGMID"})


@dataclass
class OrderTicket:
    """Everything a ``placeOrder`` carried, as received."""

    order_id: int
    contract: dict[str, str]
    order: dict[str, str]
    combo_legs: list[dict[str, str]] = field(default_factory=list)
    order_combo_leg_prices: list[str] = field(default_factory=list)
    smart_combo_routing_params: list[tuple[str, str]] = field(default_factory=list)
    delta_neutral_contract: tuple[str, str, str] | None = None
    algo_params: list[tuple[str, str]] = field(default_factory=list)
    conditions: list[list[str]] = field(default_factory=list)
    extra_fields: list[str] = field(default_factory=list)

    def text(self, name: str) -> str:
        return self.order.get(name, "")

    def number(self, name: str) -> float | None:
        """A price-like field, or None when unset."""
        value = parse_float(self.order.get(name, ""), UNSET_DOUBLE)
        return None if value == UNSET_DOUBLE else value


def _read_names(cursor: FieldCursor, names: Sequence[str], into: dict[str, str]) -> None:
    for name in names:
        into[name] = cursor.next()


def _read_pairs(cursor: FieldCursor) -> list[tuple[str, str]]:
    count = cursor.next_int()
    return [(cursor.next(), cursor.next()) for _ in range(count)]


def decode_place_order(fields: Sequence[str], server_version: int) -> OrderTicket:
    """Decode a full placeOrder message (fields[0] is the message id ``3``)."""
    cursor = FieldCursor(fields, start=1)
    order_id = cursor.next_int()
    contract: dict[str, str] = {}
    order: dict[str, str] = {}
    _read_names(cursor, CONTRACT_FIELDS, contract)
    _read_names(cursor, _HEAD, order)
    contract["secIdType"] = order.pop("secIdType")
    contract["secId"] = order.pop("secId")
    ticket = OrderTicket(order_id=order_id, contract=contract, order=order)

    if contract["secType"] == "BAG":
        for _ in range(cursor.next_int()):
            leg: dict[str, str] = {}
            _read_names(cursor, COMBO_LEG_FIELDS, leg)
            ticket.combo_legs.append(leg)
        ticket.order_combo_leg_prices = [cursor.next() for _ in range(cursor.next_int())]
        ticket.smart_combo_routing_params = _read_pairs(cursor)

    _read_names(cursor, _FA, order)
    if server_version < 177:
        order["faProfile"] = cursor.next()
    _read_names(cursor, _MIDDLE, order)
    if order["deltaNeutralOrderType"]:
        _read_names(cursor, _DELTA_NEUTRAL, order)
    _read_names(cursor, _SCALE_HEAD, order)
    increment = parse_float(order["scalePriceIncrement"], UNSET_DOUBLE)
    if 0 < increment < UNSET_DOUBLE:
        _read_names(cursor, SCALE_FIELDS, order)
    _read_names(cursor, _SCALE_TAIL, order)
    if order["hedgeType"]:
        order["hedgeParam"] = cursor.next()
    _read_names(cursor, _CLEARING, order)
    if cursor.next_bool():
        ticket.delta_neutral_contract = (cursor.next(), cursor.next(), cursor.next())
    order["algoStrategy"] = cursor.next()
    if order["algoStrategy"]:
        ticket.algo_params = _read_pairs(cursor)
    _read_names(cursor, _MISC, order)
    if order["orderType"] in PEG_BENCH_TYPES:
        _read_names(cursor, _PEG_BENCH, order)
    _read_conditions(cursor, ticket)
    _read_names(cursor, _TAIL, order)
    _read_versioned_tail(cursor, ticket, server_version)
    ticket.extra_fields = [cursor.next() for _ in range(cursor.remaining())]
    return ticket


def _read_conditions(cursor: FieldCursor, ticket: OrderTicket) -> None:
    count = cursor.next_int()
    for _ in range(count):
        cond_type = cursor.next()
        width = CONDITION_FIELD_COUNTS.get(int(cond_type or 0))
        if width is None:
            raise ValueError(f"unknown order condition type {cond_type!r}")
        ticket.conditions.append([cond_type] + [cursor.next() for _ in range(width)])
    if count:
        ticket.order["conditionsIgnoreRth"] = cursor.next()
        ticket.order["conditionsCancelOrder"] = cursor.next()


def _read_versioned_tail(cursor: FieldCursor, ticket: OrderTicket, version: int) -> None:
    order = ticket.order
    gated = (
        (158, "duration"),
        (160, "postToAts"),
        (162, "autoCancelParent"),
        (166, "advancedErrorOverride"),
        (169, "manualOrderTime"),
    )
    for min_version, name in gated:
        if version >= min_version:
            order[name] = cursor.next()
    if version < 170:
        return
    if ticket.contract["exchange"] == "IBKRATS":
        order["minTradeQty"] = cursor.next()
    order_type = order["orderType"]
    if order_type in PEG_BEST_TYPES:
        order["minCompeteSize"] = cursor.next()
        order["competeAgainstBestOffset"] = cursor.next()
        if order["competeAgainstBestOffset"] == "Infinite":
            order["midOffsetAtWhole"] = cursor.next()
            order["midOffsetAtHalf"] = cursor.next()
    elif order_type in PEG_MID_TYPES:
        order["midOffsetAtWhole"] = cursor.next()
        order["midOffsetAtHalf"] = cursor.next()
