"""Server-to-client messages other than orders, laid out per server version."""

from __future__ import annotations

import datetime as dt

from ibsim.catalogue import Instrument
from ibsim.encode_orders import contract_fields
from ibsim.wire import Field


def quantity_text(value: float) -> str:
    """Whole quantities as integers: IB's older reference decoder reads some as int."""
    return str(int(value)) if value == int(value) else repr(value)


def error(version: int, req_id: int, code: int, message: str) -> list[Field]:
    fields: list[Field] = [4, 2, req_id, code, message]
    if version >= 166:
        fields.append("")
    return fields


def next_valid_id(order_id: int) -> list[Field]:
    return [9, 1, order_id]


def managed_accounts(accounts: list[str]) -> list[Field]:
    return [15, 1, ",".join(accounts)]


def current_time(epoch: float) -> list[Field]:
    return [49, 1, int(epoch)]


def position(account: str, instrument: Instrument, quantity: float, avg_cost: float) -> list[Field]:
    return [61, 3, account, *contract_fields(instrument), quantity_text(quantity), avg_cost]


def position_multi(
    req_id: int, account: str, instrument: Instrument, quantity: float, avg_cost: float
) -> list[Field]:
    fields: list[Field] = [71, 1, req_id, account, *contract_fields(instrument)]
    return [*fields, quantity_text(quantity), avg_cost, ""]


def portfolio(
    account: str,
    instrument: Instrument,
    quantity: float,
    price: float,
    market_value: float,
    avg_cost: float,
    unrealized: float,
    realized: float,
) -> list[Field]:
    return [
        7,
        8,
        # updatePortfolio carries the primary exchange where other messages carry exchange.
        *contract_fields(instrument, instrument.primary_exchange),
        quantity_text(quantity),
        price,
        round(market_value, 2),
        avg_cost,
        round(unrealized, 2),
        round(realized, 2),
        account,
    ]


def account_value(key: str, value: str, currency: str, account: str) -> list[Field]:
    return [6, 2, key, value, currency, account]


def account_time(epoch: float) -> list[Field]:
    return [8, 1, dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M")]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> list[Field]:
    return [63, 1, req_id, account, tag, value, currency]


def account_update_multi(
    req_id: int, account: str, key: str, value: str, currency: str
) -> list[Field]:
    return [73, 1, req_id, account, "", key, value, currency]


def contract_details(
    version: int, req_id: int, instrument: Instrument, today: dt.date
) -> list[Field]:
    day = today.strftime("%Y%m%d")
    hours = f"{day}:0930-{day}:1600" if instrument.sec_type == "STK" else f"{day}:0000-{day}:2359"
    fields: list[Field] = [10]
    if version < 164:
        fields.append(8)
    fields += [
        req_id,
        instrument.symbol,
        instrument.sec_type,
        instrument.last_trade_date,
        0.0,
        "",
        instrument.exchange,
        instrument.currency,
        instrument.local_symbol,
        instrument.trading_class,
        instrument.trading_class,
        instrument.con_id,
        instrument.min_tick,
    ]
    if version < 164:
        fields.append(1)  # mdSizeMultiplier, dropped at 164
    fields += [
        instrument.multiplier,
        instrument.order_types,
        instrument.valid_exchanges,
        1,
        0,
        instrument.long_name,
        instrument.primary_exchange,
        instrument.contract_month,
        instrument.industry,
        instrument.category,
        instrument.subcategory,
        instrument.time_zone,
        hours,
        hours,
        "",
        "",
        0,
        1,
        instrument.symbol if instrument.sec_type in ("FUT", "CONTFUT") else "",
        "IND" if instrument.sec_type in ("FUT", "CONTFUT") else "",
        "26",
        instrument.last_trade_date,
        instrument.stock_type,
    ]
    if version == 163:
        fields.append("1")
    if version >= 164:
        fields += ["1", "1", "1"]
    return fields


def tick_price(req_id: int, tick_type: int, price: float, size: float) -> list[Field]:
    return [1, 6, req_id, tick_type, price, quantity_text(size), 0]


def tick_size(req_id: int, tick_type: int, size: float) -> list[Field]:
    return [2, 6, req_id, tick_type, quantity_text(size)]


def tick_string(req_id: int, tick_type: int, value: str) -> list[Field]:
    return [46, 6, req_id, tick_type, value]


def end_message(message_id: int, *extra: Field) -> list[Field]:
    """The end markers: 52/55/57/64/72/74 take a reqId, 53/62 none, 54 an account."""
    return [message_id, 1, *extra]


def completed_orders_end() -> list[Field]:
    return [102]


def market_data_type(req_id: int, data_type: int) -> list[Field]:
    return [58, 1, req_id, data_type]


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> list[Field]:
    return [94, req_id, round(daily, 2), round(unrealized, 2), round(realized, 2)]


def pnl_single(
    req_id: int, quantity: float, daily: float, unrealized: float, realized: float, value: float
) -> list[Field]:
    return [
        95,
        req_id,
        quantity_text(quantity),
        round(daily, 2),
        round(unrealized, 2),
        round(realized, 2),
        round(value, 2),
    ]
