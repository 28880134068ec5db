"""Handlers for every client request the simulator serves, keyed by message id."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ibsim import encode, feeds
from ibsim.encode_orders import completed_order, open_order, order_status
from ibsim.faults import error_text
from ibsim.place_order import CONTRACT_FIELDS, decode_place_order
from ibsim.preview import answer_what_if
from ibsim.requests_account import ACCOUNT_HANDLERS
from ibsim.wire import Field, ProtocolError, truthy

if TYPE_CHECKING:
    from ibsim.session import Session

log = logging.getLogger("ibsim.requests")

Handler = Callable[["Session", list[str]], None]

# Where a request carries its reqId, so an injected error can name it.
REQ_ID_INDEX = {1: 2, 7: 2, 9: 2, 20: 1, 62: 2, 74: 2, 76: 2, 92: 1, 94: 1}
# Requests an armed "next request" error fault applies to (not cancels or orders).
FAULTABLE = frozenset({1, 5, 6, 7, 8, 9, 16, 20, 49, 61, 62, 74, 76, 92, 94, 99})


def request_contract(fields: list[str], start: int) -> dict[str, str]:
    return dict(zip(CONTRACT_FIELDS, fields[start : start + len(CONTRACT_FIELDS)], strict=False))


def dispatch(session: Session, message_id: int, fields: list[str]) -> None:
    handler = HANDLERS.get(message_id) or ACCOUNT_HANDLERS.get(message_id)
    if handler is None:
        log.info("client %s sent unsupported message %d", session.client_id, message_id)
        return
    if message_id in FAULTABLE:
        fault = session.sim.faults.take_request_error(message_id)
        if fault is not None:
            index = REQ_ID_INDEX.get(message_id)
            req_id = int(fields[index]) if index is not None and len(fields) > index else -1
            session.error(req_id, fault.code, fault.message)
            return
    try:
        handler(session, fields)
    except (ProtocolError, ValueError, IndexError) as exc:
        log.warning("bad message %d from client %s: %s", message_id, session.client_id, exc)
        session.error(-1, 320, f"Error reading request: {exc}")


def place_order(session: Session, fields: list[str]) -> None:
    sim = session.sim
    ticket = decode_place_order(fields, session.server_version)
    if ticket.extra_fields:
        log.warning(
            "placeOrder %d carried %d unread fields", ticket.order_id, len(ticket.extra_fields)
        )
    if truthy(ticket.text("whatIf")):
        answer_what_if(session, session.bound_client_id, ticket)
        return
    drop = sim.faults.take_drop_after_place()
    if drop is not None:
        session.muted = True
        if drop:
            sim.engine.place_order(session.bound_client_id, ticket)
        session.close(abort=True)
        return
    fault = sim.faults.take_order_error(ticket)
    if fault is not None:
        highest = sim.engine.highest_order_id
        client_id = session.bound_client_id
        highest[client_id] = max(highest.get(client_id, 0), ticket.order_id)
        session.error(ticket.order_id, fault.code, fault.message)
        return
    sim.engine.place_order(session.bound_client_id, ticket)


def cancel_order(session: Session, fields: list[str]) -> None:
    session.sim.engine.cancel_order(session.bound_client_id, int(fields[2]))


def global_cancel(session: Session, fields: list[str]) -> None:
    session.sim.engine.global_cancel()


def _send_open_orders(session: Session, client_id: int | None) -> None:
    for order in session.sim.engine.open_orders(client_id):
        session.reported_perm_ids.add(order.perm_id)
        session.send(open_order(order, session.server_version, order.status))
        session.send(order_status(order, order.status))
    session.send(encode.end_message(53))


def open_orders(session: Session, fields: list[str]) -> None:
    _send_open_orders(session, session.client_id)


def all_open_orders(session: Session, fields: list[str]) -> None:
    _send_open_orders(session, None)


def completed_orders(session: Session, fields: list[str]) -> None:
    for order in session.sim.engine.completed_orders():
        session.send(completed_order(order, session.server_version))
    session.send(encode.completed_orders_end())


def executions(session: Session, fields: list[str]) -> None:
    req_id = int(fields[2])
    client_id, account, since, symbol, sec_type, exchange, side = (fields[3:10] + [""] * 7)[:7]
    side_code = {"BUY": "BOT", "SELL": "SLD"}.get(side.upper(), side.upper())
    since_epoch = _parse_filter_time(since)
    for fill in session.sim.engine.fills:
        checks = (
            not client_id or int(client_id) == 0 or fill.client_id == int(client_id),
            not account or fill.account == account,
            since_epoch is None or fill.time >= since_epoch,
            not symbol or fill.instrument.symbol.upper() == symbol.upper(),
            not sec_type or fill.instrument.sec_type == sec_type.upper(),
            not exchange
            or exchange.upper() in (fill.instrument.exchange, fill.instrument.primary_exchange),
            not side_code or fill.side == side_code,
        )
        if all(checks):
            feeds.send_execution(session, req_id, fill)
            session.send(feeds.commission_report(fill))
    session.send(encode.end_message(55, req_id))


def _parse_filter_time(text: str) -> float | None:
    """Execution filter times ("yyyymmdd hh:mm:ss", optionally with a zone) read as UTC."""
    text = text.strip()
    for layout in ("%Y%m%d %H:%M:%S", "%Y%m%d-%H:%M:%S"):
        try:
            return dt.datetime.strptime(text[:17], layout).replace(tzinfo=dt.UTC).timestamp()
        except ValueError:
            continue
    return None


def req_ids(session: Session, fields: list[str]) -> None:
    session.send(encode.next_valid_id(session.sim.engine.next_valid_id(session.bound_client_id)))


def contract_details(session: Session, fields: list[str]) -> None:
    req_id = int(fields[2])
    contract = request_contract(fields, 3)
    engine = session.sim.engine
    found = engine.catalogue.search(contract)
    if not found:
        session.error(req_id, 200, error_text(200))
        return
    for instrument in found:
        session.send(
            encode.contract_details(
                session.server_version, req_id, instrument, engine.catalogue.today
            )
        )
    session.send(encode.end_message(52, req_id))


def managed_accounts(session: Session, fields: list[str]) -> None:
    session.send(encode.managed_accounts(session.sim.engine.account_names))


def current_time(session: Session, fields: list[str]) -> None:
    session.send(encode.current_time(session.sim.engine.clock()))


def market_data_type(session: Session, fields: list[str]) -> None:
    session.market_data_type = int(fields[2])


def market_data(session: Session, fields: list[str]) -> None:
    req_id = int(fields[2])
    contract = request_contract(fields, 3)
    cursor = 3 + len(CONTRACT_FIELDS)
    if contract.get("secType") == "BAG":
        cursor += 1 + 4 * int(fields[cursor] or 0)
    if fields[cursor] == "1":
        cursor += 3
    snapshot = fields[cursor + 2] == "1"
    instrument = session.sim.engine.resolve(contract)
    if instrument is None:
        found = session.sim.engine.catalogue.search(contract)
        instrument = found[0] if len(found) == 1 else None
    if instrument is None:
        session.error(req_id, 200, error_text(200))
        return
    if session.market_data_type != 1:
        session.send(encode.market_data_type(req_id, session.market_data_type))
    feeds.send_ticks(session, req_id, instrument.con_id)
    if snapshot:
        session.send(encode.end_message(57, req_id))
    else:
        session.subs.market_data[req_id] = instrument.con_id


def cancel_market_data(session: Session, fields: list[str]) -> None:
    session.subs.market_data.pop(int(fields[2]), None)


def historical_data(session: Session, fields: list[str]) -> None:
    """Flat bars at the current price: enough for liveness probes such as ib_async's Watchdog."""
    req_id = int(fields[1])
    contract = request_contract(fields, 2)
    engine = session.sim.engine
    instrument = engine.resolve(contract)
    if instrument is None:
        session.error(req_id, 162, error_text(162))
        return
    price = engine.price(instrument.con_id)
    now = int(engine.clock())
    count = 6
    bars: list[Field] = []
    for index in range(count):
        stamp = now - (count - index) * 5
        bars += [stamp, price, price, price, price, 0, price, 0]
    start = dt.datetime.fromtimestamp(now - count * 5, dt.UTC).strftime("%Y%m%d %H:%M:%S")
    end = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%d %H:%M:%S")
    session.send([17, req_id, start, end, count, *bars])


def ignore(session: Session, fields: list[str]) -> None:
    """Accepted and deliberately without an answer, as TWS does for these."""


HANDLERS: dict[int, Handler] = {
    1: market_data,
    2: cancel_market_data,
    3: place_order,
    4: cancel_order,
    5: open_orders,
    7: executions,
    8: req_ids,
    9: contract_details,
    15: ignore,
    16: all_open_orders,
    17: managed_accounts,
    20: historical_data,
    49: current_time,
    58: global_cancel,
    59: market_data_type,
    99: completed_orders,
}
