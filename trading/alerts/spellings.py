"""Every field name and value spelling an alert may use, in one place (the README's table).

Users arrive with alert templates written for other bridges, so each of our fields accepts
the names those bridges use. Names are case-sensitive; values are not. A name with a dot
(``takeProfit.limitPrice``) is a key inside an object (``{"takeProfit": {"limitPrice": 1}}``);
``metrics.<name>`` is an entry of TBOT's ``metrics`` list.

Formats, each with one example:

**Our own flat fields** (any of the names below)::

    {"symbol": "NASDAQ:AAPL", "action": "buy", "quantity": 10, "order_type": "limit",
     "limit_price": 150, "take_profit": 160, "stop_loss": 145, "time_in_force": "gtc"}

**A TradingView strategy's position** (a target: the plan is the difference to it)::

    {"ticker": "{{ticker}}", "action": "{{strategy.order.action}}",
     "position_size": "{{strategy.position_size}}"}

or ``market_position`` (long/short/flat) with ``market_position_size`` (absolute).

**TradersPost**: ``sentiment`` qualifies ``action`` (buy + long: be long; sell + flat:
close; add: add on the sentiment's side), exits in nested objects::

    {"ticker": "AMD", "action": "buy", "sentiment": "long", "signalPrice": 143.12,
     "quantity": 1, "takeProfit": {"percent": 10}, "stopLoss": {"type": "stop", "percent": 5}}

**PickMyTrade**: the side in ``data``, numbers as strings, ``0`` meaning "not set" for its
exit, trailing and risk fields; ``reverse_order_close`` true makes buy/sell mean "be on that
side" (false: they add)::

    {"symbol": "NQ", "data": "buy", "quantity": "2", "price": "18250.25", "tp": "18300",
     "sl": "18200", "dollar_tp": "0", "trail": "0", "risk_percentage": "0",
     "reverse_order_close": "true", "multiple_accounts": [{"quantity_multiplier": 1}]}

**3Commas signal bot, strategy type**::

    {"tv_exchange": "BINANCE", "tv_instrument": "BTCUSDT", "action": "buy",
     "trigger_price": "64250.5", "order": {"amount": "0.01", "currency_type": "base"},
     "strategy_info": {"market_position": "long", "market_position_size": "0.01"}}

**TBOT (TradingBoat)**: ``direction`` names the Pine call, prices and size in ``metrics``
(``0`` meaning "not set"; a negative ``qty`` on a close meaning "all")::

    {"ticker": "TSLA", "contract": "stock", "direction": "strategy.entrylong",
     "metrics": [{"name": "qty", "value": 100}, {"name": "entry.limit", "value": 0},
                 {"name": "exit.limit", "value": 180}, {"name": "exit.stop", "value": 150}]}

**TradingView's default strategy sentence** (text, not JSON)::

    order buy @ 3 filled on NVDA. New strategy position is 3
"""

from __future__ import annotations

from typing import NamedTuple


class Spelling(NamedTuple):
    names: tuple[str, ...]
    meaning: str


# canonical field -> names accepted for it (first preferred) and what it means
FIELDS: dict[str, Spelling] = {
    "symbol": Spelling(
        ("symbol", "ticker", "tv_instrument"),
        "AAPL, NASDAQ:AAPL (the prefix is kept as the exchange), EURUSD, BRK.B, ES1!",
    ),
    "action": Spelling(
        ("action", "side", "order_action", "signal", "direction", "data"),
        "what to do, any case: see ACTION_WORDS",
    ),
    "sentiment": Spelling(
        ("sentiment",), "TradersPost: long/bullish, short/bearish or flat (see module doc)"
    ),
    "quantity": Spelling(
        ("quantity", "qty", "contracts", "size", "amount", "order.amount", "metrics.qty"),
        "how much, read as quantity_type says; optional for entries (default sizing), "
        "for close (default: all)",
    ),
    "quantity_type": Spelling(
        ("quantity_type", "quantityType", "order.currency_type"),
        "units (default), cash, percent_of_equity, risk, risk_percent: see QUANTITY_TYPES",
    ),
    "price": Spelling(
        ("price", "close", "signalPrice", "signal_price", "trigger_price", "metrics.price"),
        "the price when the alert fired; a limit order's price when limit_price is absent",
    ),
    "timestamp": Spelling(
        ("timestamp", "time", "timenow", "date"),
        "epoch seconds or milliseconds, or ISO-8601 ({{timenow}})",
    ),
    "alert_id": Spelling(("alert_id", "alertId"), "idempotency key, printable, up to 128"),
    "order_type": Spelling(
        ("order_type", "orderType", "type"),
        "market (default), limit, stop, stop_limit, trailing_stop: see ORDER_TYPES",
    ),
    "limit_price": Spelling(
        ("limit_price", "limitPrice", "metrics.entry.limit"), "for limit and stop_limit orders"
    ),
    "stop_price": Spelling(
        ("stop_price", "stopPrice", "metrics.entry.stop"), "trigger of stop and stop_limit orders"
    ),
    "trail_amount": Spelling(
        ("trail_amount", "trailAmount"),
        "price distance of a trailing_stop order (or of a trailing stop loss)",
    ),
    "trail_percent": Spelling(
        ("trail_percent", "trailPercent"), "percent distance, as trail_amount (below 100)"
    ),
    "time_in_force": Spelling(
        ("time_in_force", "tif", "timeInForce"), "day, gtc, ioc or fok (any case)"
    ),
    "outside_rth": Spelling(
        ("outside_rth", "outsideRth", "extendedHours", "extended_hours"),
        "true/false/1/0/yes/no; with limit or stop_limit orders (a market order's is the "
        "OUTSIDE_RTH setting's decision)",
    ),
    "position_size": Spelling(
        ("position_size", "position_after"),
        "the strategy's signed position after this alert ({{strategy.position_size}})",
    ),
    "market_position": Spelling(
        ("market_position", "strategy_info.market_position"),
        "long, short or flat ({{strategy.market_position}}); a target with the size below",
    ),
    "market_position_size": Spelling(
        ("market_position_size", "strategy_info.market_position_size"),
        "absolute size of market_position ({{strategy.market_position_size}})",
    ),
    "take_profit": Spelling(("take_profit", "takeProfit.limitPrice", "tp"), "take-profit price"),
    "take_profit_percent": Spelling(
        ("take_profit_percent", "takeProfit.percent", "percentage_tp"),
        "take-profit as a percent away from the entry price",
    ),
    "take_profit_offset": Spelling(
        ("take_profit_offset", "takeProfit.amount", "dollar_tp"),
        "take-profit as a price distance from the entry price",
    ),
    "stop_loss": Spelling(("stop_loss", "stopLoss.stopPrice", "sl"), "stop-loss trigger price"),
    "stop_loss_percent": Spelling(
        ("stop_loss_percent", "stopLoss.percent", "percentage_sl"),
        "stop-loss trigger as a percent away from the entry price (below 100)",
    ),
    "stop_loss_offset": Spelling(
        ("stop_loss_offset", "stopLoss.amount", "dollar_sl"),
        "stop-loss trigger as a price distance from the entry price",
    ),
    "stop_loss_type": Spelling(
        ("stop_loss_type", "stopLoss.type"), "stop (default), stop_limit or trailing_stop"
    ),
    "stop_loss_limit": Spelling(
        ("stop_loss_limit", "stopLoss.limitPrice"), "limit price of a stop_limit stop loss"
    ),
    "stop_loss_trail_amount": Spelling(
        ("stop_loss_trail_amount", "stopLoss.trailAmount"),
        "price distance of a trailing stop loss",
    ),
    "stop_loss_trail_percent": Spelling(
        ("stop_loss_trail_percent", "stopLoss.trailPercent"),
        "percent distance of a trailing stop loss (below 100)",
    ),
    "exit_limit_price": Spelling(
        ("metrics.exit.limit",),
        "TBOT: an entry's take-profit price; an exit's limit price",
    ),
    "exit_stop_price": Spelling(
        ("metrics.exit.stop",), "TBOT: an entry's stop-loss price; an exit's stop price"
    ),
    "strategy": Spelling(
        ("strategy", "strategy_name"),
        "keeps a virtual position per strategy and instrument (printable, up to 64)",
    ),
    "sec_type": Spelling(
        ("sec_type", "secType", "contract"), "STK, CASH, CRYPTO or FUT: see SEC_TYPES"
    ),
    "exchange": Spelling(("exchange", "tv_exchange"), "exchange code, e.g. SMART or NASDAQ"),
    "currency": Spelling(("currency",), "3 letters, e.g. USD"),
}

ALIASES: dict[str, tuple[str, ...]] = {name: spelling.names for name, spelling in FIELDS.items()}

# Fields whose empty value ("NaN", "None", null, "") changes nothing, so it means "absent".
SOFT_FIELDS = frozenset({"price"})

# word -> (action, target side). "add" is TradersPost's: buy or sell by the sentiment.
ACTION_WORDS: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(("buy", "long", "b", "enter_long"), ("buy", None)),
    **dict.fromkeys(("sell", "short", "s", "enter_short"), ("sell", None)),
    **dict.fromkeys(
        ("close", "exit", "flat", "flatten", "close_all", "exit_long", "exit_short"),
        ("close", None),
    ),
    "reverse": ("reverse", None),
    **dict.fromkeys(("cancel", "cancel_all"), ("cancel", None)),
    # Pine's strategy.exit moved: replace the position's take-profit and stop-loss.
    **dict.fromkeys(("protect", "update_exits", "set_exits"), ("protect", None)),
    "add": ("add", None),
    # TBOT: the Pine call that filled
    "strategy.entrylong": ("buy", "buy"),
    "strategy.entryshort": ("sell", "sell"),
    **dict.fromkeys(
        ("strategy.exitlong", "strategy.exitshort", "strategy.close", "strategy.close_all"),
        ("close", None),
    ),
    "strategy.cancel_all": ("cancel", None),
}
ACTION_HELP = (
    "buy/long/b, sell/short/s, close/exit/flat/flatten/close_all, reverse, cancel, "
    "protect/update_exits/set_exits, add (with "
    "a sentiment), 3Commas' enter_long/enter_short/exit_long/exit_short, TBOT's "
    "strategy.entrylong/entryshort/exitlong/exitshort/close/close_all/cancel_all"
)
# Words other bridges use for things tvbridge does not do; each says why.
REFUSED_ACTION_WORDS: dict[str, str] = {
    "strategy.cancellong": "cancels only the buy orders; tvbridge cancels every working order "
    "on the instrument: send strategy.cancel_all",
    "strategy.cancelshort": "cancels only the sell orders; tvbridge cancels every working "
    "order on the instrument: send strategy.cancel_all",
    "strategy.alert": "is a notification, not an order",
    "breakeven": "moves an open position's stop to its entry price, which is not supported",
}
TBOT_CLOSING = frozenset(
    {"strategy.exitlong", "strategy.exitshort", "strategy.close", "strategy.close_all"}
)
TBOT_CANCELLING = frozenset({"strategy.cancel_all"})

SENTIMENTS = {
    "long": "long",
    "bullish": "long",
    "short": "short",
    "bearish": "short",
    "flat": "flat",
}
MARKET_POSITIONS = {"long": "long", "short": "short", "flat": "flat"}

ORDER_TYPES = {
    **dict.fromkeys(("market", "mkt"), "market"),
    **dict.fromkeys(("limit", "lmt"), "limit"),
    **dict.fromkeys(("stop", "stp"), "stop"),
    **dict.fromkeys(
        ("stop_limit", "stop-limit", "stoplimit", "stop limit", "stp lmt", "stp_lmt"),
        "stop_limit",
    ),
    **dict.fromkeys(
        ("trailing_stop", "trailing-stop", "trailing stop", "trailing", "trail"),
        "trailing_stop",
    ),
}
STOP_LOSS_TYPES = {
    spelling: kind
    for spelling, kind in ORDER_TYPES.items()
    if kind in ("stop", "stop_limit", "trailing_stop")
}
TIME_IN_FORCE = {"day": "day", "gtc": "gtc", "ioc": "ioc", "fok": "fok"}
QUANTITY_TYPES = {
    **dict.fromkeys(("units", "fixed_quantity", "base"), "units"),
    **dict.fromkeys(("cash", "dollar_amount", "quote"), "cash"),
    "percent_of_equity": "percent_of_equity",
    **dict.fromkeys(("risk", "risk_dollar_amount"), "risk"),
    "risk_percent": "risk_percent",
}
REFUSED_QUANTITY_TYPES = {
    "percent_of_position": "sizes from the open position, which is not supported: send the "
    "quantity in units, or action close for all of it",
}
SEC_TYPES = {
    **dict.fromkeys(("stk", "stock"), "STK"),
    **dict.fromkeys(("cash", "forex", "fx"), "CASH"),
    "crypto": "CRYPTO",
    **dict.fromkeys(("fut", "future", "futures"), "FUT"),
}
BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}

# Objects read key by key; any other key inside them is refused, never ignored.
CONTAINERS: dict[str, tuple[str, ...]] = {
    "takeProfit": ("limitPrice", "percent", "amount"),
    "stopLoss": (
        "type",
        "stopPrice",
        "limitPrice",
        "percent",
        "amount",
        "trailAmount",
        "trailPercent",
    ),
    "strategy_info": (
        "market_position",
        "market_position_size",
        "prev_market_position",
        "prev_market_position_size",
    ),
    "order": ("amount", "currency_type"),
}
CONTAINER_EXAMPLES = {
    "takeProfit": '{"limitPrice": 110} (or "percent" or "amount")',
    "stopLoss": '{"type": "stop", "stopPrice": 90} (or "percent" or "amount")',
    "strategy_info": '{"market_position": "long", "market_position_size": "1"}',
    "order": '{"amount": "1", "currency_type": "base"}',
}
REFUSED_KEYS_INSIDE = {
    "takeProfit.pnlAmount": "a profit target in account currency needs the fill quantity and "
    "point value, which is not supported: send limitPrice, percent or amount",
}
TBOT_METRICS = ("qty", "price", "entry.limit", "entry.stop", "exit.limit", "exit.stop")

# PickMyTrade's own names: read only in a PickMyTrade alert (one sending "data"), because
# elsewhere "tp" or "sl" often mean points or pips.
PICKMYTRADE_ONLY: dict[str, str] = {
    "tp": "take_profit",
    "sl": "stop_loss",
    "percentage_tp": "take_profit_percent",
    "percentage_sl": "stop_loss_percent",
    "dollar_tp": "take_profit_offset",
    "dollar_sl": "stop_loss_offset",
    "risk_percentage": 'quantity_type "risk_percent" with the percent as quantity',
    **dict.fromkeys(
        ("trail", "trail_stop", "trail_trigger", "trail_freq"),
        "stop_loss_type trailing_stop with stop_loss_trail_amount",
    ),
    **dict.fromkeys(("breakeven", "breakeven_offset"), "a stop_loss at the entry price"),
    **dict.fromkeys(("update_tp", "update_sl"), "a new alert"),
    "reverse_order_close": "action reverse, or a target (position_size)",
    "pyramid": "action buy or sell (they add)",
    "same_direction_ignore": "a target (position_size)",
}
# PickMyTrade's "0" (or false) means "not set" for these.
PICKMYTRADE_UNSET_WHEN_ZERO = frozenset(PICKMYTRADE_ONLY) - {
    "update_tp",
    "update_sl",
    "reverse_order_close",
    "pyramid",
    "same_direction_ignore",
}
# Set (non-zero, or true) they ask for what tvbridge does not do; each says why.
PICKMYTRADE_UNSUPPORTED = {
    **dict.fromkeys(
        ("trail", "trail_stop", "trail_trigger", "trail_freq"),
        "PickMyTrade's trailing settings are not mapped (their distance unit and trigger "
        "steps have no broker equivalent)",
    ),
    **dict.fromkeys(
        ("breakeven", "breakeven_offset"), "moving the stop to break-even later is not supported"
    ),
    "update_tp": "changing an open position's take-profit is not supported",
    "update_sl": "changing an open position's stop-loss is not supported",
    "same_direction_ignore": "ignoring a same-side signal depends on the open position; "
    "not supported",
}

# Accepted and not used: they describe, they do not change the order.
INFORMATIONAL: dict[str, str] = {
    "prev_market_position": "TradingView's previous position; informational",
    "prev_market_position_size": "TradingView's previous position size; informational",
    "strategy_info.prev_market_position": "3Commas: informational",
    "strategy_info.prev_market_position_size": "3Commas: informational",
    "comment": "informational",
    "interval": "informational",
    "timeframe": "TBOT: informational",
    "clientId": "TBOT: informational",
    "orderRef": "TBOT: the Pine order id; informational (alert_id is the key)",
    "bot_uuid": "3Commas: informational",
    "max_lag": "3Commas: informational; the replay window of the timestamp applies",
    "platform": "PickMyTrade: informational",
    "connection_name": "PickMyTrade: informational",
    "account_id": "PickMyTrade: informational (orders go to the configured account)",
    "duplicate_position_allow": "PickMyTrade: informational",
    "multiple_accounts": "PickMyTrade: accepted when every account has quantity_multiplier "
    "0 or 1 and risk_percentage 0 (per-account sizing is not supported)",
}

# Refused with a reason whenever set: each would trade something other than what is sent.
REFUSED_FIELDS: dict[str, str] = {
    "reverse": "means different things to different bridges (flip first, or close then "
    "open); send action reverse to flip the position",
    "lastTradeDateOrContractMonth": "choosing a futures contract month is not supported; "
    "the symbol decides the contract",
    "multiplier": "choosing a contract by multiplier is not supported",
    **dict.fromkeys(
        ("optionType", "expiration", "strikePrice", "strikesAway", "strikeCount"),
        "options are not supported (the order would trade the underlying instead)",
    ),
    "intrinsicValue": "options are not supported (the order would trade the underlying instead)",
}

# Top-level names the risk guard leaves to the parser (which reads or refuses them).
UNDERSTOOD_NAMES = frozenset(
    {name for names in ALIASES.values() for name in names if "." not in name}
    | {name for name in INFORMATIONAL if "." not in name}
    | set(PICKMYTRADE_ONLY)
    | set(REFUSED_FIELDS)
)


def markdown_table() -> str:
    """The accepted names as a Markdown table, for the README."""
    rows = ["| field | accepted names | meaning |", "|---|---|---|"]
    for field, spelling in FIELDS.items():
        names = ", ".join(f"`{name}`" for name in spelling.names)
        rows.append(f"| `{field}` | {names} | {spelling.meaning} |")
    for name, meaning in INFORMATIONAL.items():
        rows.append(f"| (ignored) | `{name}` | {meaning} |")
    return "\n".join(rows)
