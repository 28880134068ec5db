"""Server-to-client order messages: openOrder (5), completedOrder (101), orderStatus (3),
execDetails (11) and commissionReport (59), laid out per server version."""

from __future__ import annotations

import datetime as dt

from ibsim.catalogue import Instrument
from ibsim.model import Fill, SimOrder
from ibsim.place_order import PEG_BENCH_TYPES, SCALE_FIELDS, OrderTicket
from ibsim.wire import Field, truthy

# Order attributes that IB's decoders read as booleans: they must never be empty.
BOOL_FIELDS = frozenset(
    {
        "outsideRth",
        "hidden",
        "blockOrder",
        "sweepToFill",
        "allOrNone",
        "eTradeOnly",
        "firmQuoteOnly",
        "continuousUpdate",
        "optOutSmartRouting",
        "notHeld",
        "solicited",
        "whatIf",
        "randomizeSize",
        "randomizePrice",
        "isPeggedChangeAmountDecrease",
        "conditionsIgnoreRth",
        "conditionsCancelOrder",
        "dontUseAutoPriceForHedge",
        "isOmsContainer",
        "discretionaryUpToLimitPrice",
        "usePriceMgmtAlgo",
        "autoCancelParent",
        "scaleAutoReset",
        "scaleRandomPercent",
        "deltaNeutralShortSale",
        "imbalanceOnly",
        "routeMarketableToBbo",
    }
)
PEG_BENCH_FIELDS = (
    "referenceContractId",
    "isPeggedChangeAmountDecrease",
    "peggedChangeAmount",
    "referenceChangeAmount",
    "referenceExchangeId",
)
PEG_OFFSET_FIELDS = (
    "minTradeQty",
    "minCompeteSize",
    "competeAgainstBestOffset",
    "midOffsetAtWhole",
    "midOffsetAtHalf",
)


def ib_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")


def contract_fields(instrument: Instrument, exchange: str = "") -> list[Field]:
    """The 11-field contract block shared by openOrder, execDetails and position."""
    return [
        instrument.con_id,
        instrument.symbol,
        instrument.sec_type,
        instrument.last_trade_date,
        0.0,
        "",
        instrument.multiplier,
        exchange or instrument.exchange,
        instrument.currency,
        instrument.local_symbol,
        instrument.trading_class,
    ]


class _OrderView:
    """Reads an order's echoed attributes, with engine-owned values taking precedence."""

    def __init__(self, order: SimOrder) -> None:
        self.order = order
        self.ticket: OrderTicket = order.ticket
        self.overrides: dict[str, str] = {
            "totalQuantity": _number(order.quantity),
            "orderType": order.order_type,
            "account": order.account,
            "parentId": str(order.parent_id),
            "tif": order.tif,
        }

    def __call__(self, *names: str) -> list[Field]:
        return [self.get(name) for name in names]

    def get(self, name: str) -> str:
        value = self.overrides.get(name)
        if value is None:
            value = self.ticket.order.get(name, "")
        if name in BOOL_FIELDS:
            return "1" if truthy(value) else "0"
        return value

    def exchange(self) -> str:
        return self.ticket.contract.get("exchange", "") or self.order.instrument.exchange


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _combo_and_scale(view: _OrderView, completed: bool) -> list[Field]:
    ticket = view.ticket
    fields: list[Field] = [len(ticket.combo_legs)]
    for leg in ticket.combo_legs:
        fields += list(leg.values())
    fields += [len(ticket.order_combo_leg_prices), *ticket.order_combo_leg_prices]
    fields.append(len(ticket.smart_combo_routing_params))
    for tag, value in ticket.smart_combo_routing_params:
        fields += [tag, value]
    fields += view("scaleInitLevelSize", "scaleSubsLevelSize", "scalePriceIncrement")
    increment = ticket.number("scalePriceIncrement")
    if increment is not None and increment > 0:
        fields += view(*SCALE_FIELDS)
    fields += view("hedgeType")
    if view.get("hedgeType"):
        fields += view("hedgeParam")
    if not completed:
        fields += view("optOutSmartRouting")
    fields += view("clearingAccount", "clearingIntent", "notHeld")
    dnc = ticket.delta_neutral_contract
    fields += ["1", *dnc] if dnc else ["0"]
    fields += view("algoStrategy")
    if view.get("algoStrategy"):
        fields.append(len(ticket.algo_params))
        for tag, value in ticket.algo_params:
            fields += [tag, value]
    return fields


def _conditions(view: _OrderView) -> list[Field]:
    conditions = view.ticket.conditions
    fields: list[Field] = [len(conditions)]
    for condition in conditions:
        fields += list(condition)
    if conditions:
        fields += view("conditionsIgnoreRth", "conditionsCancelOrder")
    return fields


def open_order(
    order: SimOrder, version: int, status: str, preview: list[Field] | None = None
) -> list[Field]:
    """openOrder; ``preview`` holds the 14 margin and commission figures of a what-if answer."""
    view = _OrderView(order)
    fields: list[Field] = [5, order.order_id]
    fields += contract_fields(order.instrument, view.exchange())
    fields += view("action", "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif")
    fields += view("ocaGroup", "account", "openClose", "origin", "orderRef")
    fields += [order.client_id, order.perm_id]
    fields += view("outsideRth", "hidden", "discretionaryAmt", "goodAfterTime")
    fields += ["", *view("faGroup", "faMethod", "faPercentage")]
    if version < 177:
        fields += view("faProfile")
    fields += view(
        "modelCode", "goodTillDate", "rule80A", "percentOffset", "settlingFirm",
        "shortSaleSlot", "designatedLocation", "exemptCode", "auctionStrategy",
        "startingPrice", "stockRefPrice", "delta", "stockRangeLower", "stockRangeUpper",
        "displaySize", "blockOrder", "sweepToFill", "allOrNone", "minQty", "ocaType",
        "eTradeOnly", "firmQuoteOnly", "nbboPriceCap", "parentId", "triggerMethod",
        "volatility", "volatilityType", "deltaNeutralOrderType", "deltaNeutralAuxPrice",
    )  # fmt: skip
    if view.get("deltaNeutralOrderType"):
        fields += view(
            "deltaNeutralConId", "deltaNeutralSettlingFirm", "deltaNeutralClearingAccount",
            "deltaNeutralClearingIntent", "deltaNeutralOpenClose", "deltaNeutralShortSale",
            "deltaNeutralShortSaleSlot", "deltaNeutralDesignatedLocation",
        )  # fmt: skip
    fields += view("continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent")
    fields += view("basisPoints", "basisPointsType", "comboLegsDescrip")
    fields += _combo_and_scale(view, completed=False)
    fields += view("solicited", "whatIf")
    # Order state: status, nine margin figures, three commissions, currency and a warning.
    fields += [status, *(preview or [""] * 14)]
    fields += view("randomizeSize", "randomizePrice")
    if order.order_type in PEG_BENCH_TYPES:
        fields += view(*PEG_BENCH_FIELDS)
    fields += _conditions(view)
    fields += view(
        "adjustedOrderType", "triggerPrice", "trailStopPrice", "lmtPriceOffset",
        "adjustedStopPrice", "adjustedStopLimitPrice", "adjustedTrailingAmount",
        "adjustableTrailingUnit", "softDollarTierName", "softDollarTierValue",
        "softDollarTierDisplayName", "cashQty", "dontUseAutoPriceForHedge",
        "isOmsContainer", "discretionaryUpToLimitPrice", "usePriceMgmtAlgo",
    )  # fmt: skip
    if version >= 159:
        fields += view("duration")
    if version >= 160:
        fields += view("postToAts")
    if version >= 162:
        fields += view("autoCancelParent")
    if version >= 170:
        fields += view(*PEG_OFFSET_FIELDS)
    return fields


def completed_order(order: SimOrder, version: int) -> list[Field]:
    view = _OrderView(order)
    fields: list[Field] = [101]
    fields += contract_fields(order.instrument, view.exchange())
    fields += view("action", "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif")
    fields += view("ocaGroup", "account", "openClose", "origin", "orderRef")
    fields.append(order.perm_id)
    fields += view("outsideRth", "hidden", "discretionaryAmt", "goodAfterTime")
    fields += view("faGroup", "faMethod", "faPercentage")
    if version < 177:
        fields += view("faProfile")
    fields += view(
        "modelCode", "goodTillDate", "rule80A", "percentOffset", "settlingFirm",
        "shortSaleSlot", "designatedLocation", "exemptCode", "startingPrice",
        "stockRefPrice", "delta", "stockRangeLower", "stockRangeUpper", "displaySize",
        "sweepToFill", "allOrNone", "minQty", "ocaType", "triggerMethod", "volatility",
        "volatilityType", "deltaNeutralOrderType", "deltaNeutralAuxPrice",
    )  # fmt: skip
    if view.get("deltaNeutralOrderType"):
        fields += view(
            "deltaNeutralConId", "deltaNeutralShortSale", "deltaNeutralShortSaleSlot",
            "deltaNeutralDesignatedLocation",
        )  # fmt: skip
    fields += view("continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent")
    fields += view("comboLegsDescrip")
    fields += _combo_and_scale(view, completed=True)
    fields += [view.get("solicited"), order.status, *view("randomizeSize", "randomizePrice")]
    if order.order_type in PEG_BENCH_TYPES:
        fields += view(*PEG_BENCH_FIELDS)
    fields += _conditions(view)
    fields += view("trailStopPrice", "lmtPriceOffset", "cashQty", "dontUseAutoPriceForHedge")
    fields += view("isOmsContainer", "autoCancelDate")
    fields += [_number(order.filled), "", view.get("autoCancelParent"), ""]
    fields += view("imbalanceOnly", "routeMarketableToBbo")
    parent = order.parent_perm_id
    fields += [parent or "", ib_time(order.completed_at or order.created_at)]
    fields.append(order.completed_reason)
    if version >= 170:
        fields += view(*PEG_OFFSET_FIELDS)
    return fields


def order_status(order: SimOrder, status: str) -> list[Field]:
    return [
        3,
        order.order_id,
        status,
        _number(order.filled),
        _number(order.remaining),
        order.avg_fill_price,
        order.perm_id,
        order.parent_id,
        order.last_fill_price,
        order.client_id,
        "",
        0.0,
    ]


def exec_details(req_id: int, fill: Fill, version: int) -> list[Field]:
    fields: list[Field] = [11, req_id, fill.order_id]
    fields += contract_fields(fill.instrument)
    fields += [
        fill.exec_id,
        ib_time(fill.time),
        fill.account,
        fill.instrument.exchange if fill.instrument.exchange != "SMART" else
        fill.instrument.primary_exchange,
        fill.side,
        _number(fill.shares),
        fill.price,
        fill.perm_id,
        fill.client_id,
        0,
        _number(fill.cum_qty),
        fill.avg_price,
        fill.order_ref,
        "",
        "",
        "",
        fill.liquidity,
    ]  # fmt: skip
    if version >= 178:
        fields.append("0")
    return fields


def commission_report(fill: Fill) -> list[Field]:
    realized = fill.realized_pnl if fill.realized_pnl else None
    return [59, 1, fill.exec_id, fill.commission, "USD", realized, None, None]
