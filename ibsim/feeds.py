"""What a session sends about orders, fills, positions, accounts and prices."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ibsim import encode
from ibsim.encode_orders import commission_report, exec_details, open_order, order_status
from ibsim.model import PRE_SUBMITTED, SUBMITTED, Fill, Position, SimOrder
from ibsim.reports import Row, account_value_rows
from ibsim.wire import Field

if TYPE_CHECKING:
    from ibsim.session import Session

# Tick types: live, and the ids IB uses instead once delayed data (type 3 or 4) is requested.
LIVE_TICKS = {"bid": 1, "ask": 2, "last": 4, "close": 9, "volume": 8, "last_time": 45}
DELAYED_TICKS = {"bid": 66, "ask": 67, "last": 68, "close": 75, "volume": 74, "last_time": 88}
ACCOUNT_PUSH_DELAY = 0.005
# IDEALPRO forex is quoted, not traded on a tape: IB sends bid and ask but no last, last size,
# volume or last time, so a client that prices forex from ``last`` sees nothing, as with IB.
QUOTE_ONLY_SEC_TYPES = frozenset({"CASH"})


def send_order(session: Session, order: SimOrder, with_open_order: bool) -> None:
    """openOrder and orderStatus; in realism mode with IB's extra steps and repeats."""
    sim = session.sim
    version = session.server_version
    first_report = order.perm_id not in session.reported_perm_ids
    session.reported_perm_ids.add(order.perm_id)
    if sim.options.realism and first_report and order.status == SUBMITTED:
        session.send(open_order(order, version, PRE_SUBMITTED))
        session.send(order_status(order, PRE_SUBMITTED))
    if with_open_order or first_report:
        session.send(open_order(order, version, order.status))
    session.send(order_status(order, order.status))
    if sim.options.realism and sim.rng.random() < 0.5:
        session.send(order_status(order, order.status))


def send_execution(session: Session, req_id: int, fill: Fill) -> None:
    session.send(exec_details(req_id, fill, session.server_version))


def send_commission(session: Session, fill: Fill) -> None:
    if session.sim.options.realism:
        session.send_later(session.sim.rng.uniform(0.001, 0.03), commission_report(fill))
    else:
        session.send(commission_report(fill))


def send_position_update(session: Session, account: str, con_id: int) -> None:
    """Live pushes after a fill or price change, to whatever this session subscribed."""
    sim = session.sim
    engine = sim.engine
    position = engine.accounts[account].positions.get(con_id, Position(con_id))
    instrument = engine.catalogue.by_con_id(con_id)
    if instrument is None:
        return
    messages: list[list[Field]] = []
    if session.subs.positions:
        messages.append(encode.position(account, instrument, position.quantity, position.avg_cost))
    if session.subs.account_updates == account:
        messages.append(portfolio_message(session, account, position))
    for req_id, multi_account in session.subs.positions_multi.items():
        if multi_account in (account, "", "All"):
            messages.append(
                encode.position_multi(
                    req_id, account, instrument, position.quantity, position.avg_cost
                )
            )
    if sim.options.realism:
        for message in messages:
            session.send_later(sim.rng.uniform(0.0, 0.03), message)
    else:
        for message in messages:
            session.send(message)
    schedule_account_push(session, account, con_id)


def portfolio_message(session: Session, account: str, position: Position) -> list[Field]:
    engine = session.sim.engine
    instrument = engine.catalogue.by_con_id(position.con_id)
    assert instrument is not None  # noqa: S101 - positions only exist for known contracts
    ledger = engine.ledger
    return encode.portfolio(
        account,
        instrument,
        position.quantity,
        engine.price(position.con_id),
        ledger.market_value(position),
        position.avg_cost,
        ledger.unrealized(position),
        realized_for(session, account, position.con_id),
    )


def realized_for(session: Session, account: str, con_id: int) -> float:
    return session.sim.engine.accounts[account].realized.get(con_id, 0.0)


def schedule_account_push(session: Session, account: str, con_id: int) -> None:
    """Account values and PnL follow a fill shortly, once per burst, as IB batches them."""
    session.pending_account_pushes.setdefault(account, set()).add(con_id)
    if session.account_push_handle is None:
        loop = asyncio.get_running_loop()
        session.account_push_handle = loop.call_later(
            ACCOUNT_PUSH_DELAY, flush_account_pushes, session
        )


def flush_account_pushes(session: Session) -> None:
    session.account_push_handle = None
    pending, session.pending_account_pushes = session.pending_account_pushes, {}
    for account, con_ids in pending.items():
        send_account_changes(session, account)
        send_pnl_updates(session, account, con_ids)


def _changed_rows(session: Session, stream: str, account: str, full: bool) -> list[Row]:
    """The account value rows this stream has not yet seen with their current value."""
    engine = session.sim.engine
    sent = session.sent_account_rows
    changed = []
    for key, value, currency in account_value_rows(engine.ledger, engine.accounts[account]):
        marker = (stream, account, key, currency)
        if full or sent.get(marker) != value:
            sent[marker] = value
            changed.append((key, value, currency))
    return changed


def send_account_changes(session: Session, account: str) -> None:
    engine = session.sim.engine
    if session.subs.account_updates == account:
        rows = _changed_rows(session, "updates", account, full=False)
        for key, value, currency in rows:
            session.send(encode.account_value(key, value, currency, account))
        if rows:
            session.send(encode.account_time(engine.clock()))
    for req_id, multi_account in session.subs.account_multi.items():
        if multi_account in (account, "", "All"):
            send_account_multi(session, req_id, account, full=False)


def send_account_values(session: Session, account: str) -> None:
    for key, value, currency in _changed_rows(session, "updates", account, full=True):
        session.send(encode.account_value(key, value, currency, account))


def send_account_multi(session: Session, req_id: int, account: str, full: bool) -> None:
    for key, value, currency in _changed_rows(session, f"multi{req_id}", account, full):
        session.send(encode.account_update_multi(req_id, account, key, value, currency))


def send_pnl_updates(session: Session, account: str, con_ids: set[int] | None = None) -> None:
    for req_id, pnl_account in session.subs.pnl.items():
        if pnl_account == account:
            send_pnl(session, req_id, account)
    for req_id, (single_account, single_con) in session.subs.pnl_single.items():
        if single_account == account and (con_ids is None or single_con in con_ids):
            send_pnl_single(session, req_id, account, single_con)


def send_pnl(session: Session, req_id: int, account_name: str) -> None:
    engine = session.sim.engine
    account = engine.accounts.get(account_name)
    if account is None:
        return
    values = engine.ledger.values(account)
    session.send(
        encode.pnl(req_id, values["DailyPnL"], values["UnrealizedPnL"], values["RealizedPnL"])
    )


def send_pnl_single(session: Session, req_id: int, account_name: str, con_id: int) -> None:
    engine = session.sim.engine
    account = engine.accounts.get(account_name)
    if account is None:
        return
    ledger = engine.ledger
    position = account.positions.get(con_id, Position(con_id))
    realized = sum(
        f.realized_pnl
        for f in engine.fills
        if f.account == account_name and f.instrument.con_id == con_id
    )
    session.send(
        encode.pnl_single(
            req_id,
            position.quantity,
            ledger.daily_pnl_single(account, con_id),
            ledger.unrealized(position),
            realized,
            ledger.market_value(position),
        )
    )


def send_ticks(session: Session, req_id: int, con_id: int) -> None:
    engine = session.sim.engine
    instrument = engine.catalogue.by_con_id(con_id)
    if instrument is None:
        return
    ticks = DELAYED_TICKS if session.market_data_type in (3, 4) else LIVE_TICKS
    price = engine.price(con_id)
    half_spread = instrument.min_tick
    size = 100.0 if instrument.sec_type == "STK" else 1.0
    session.send(encode.tick_price(req_id, ticks["bid"], round(price - half_spread, 10), size))
    session.send(encode.tick_price(req_id, ticks["ask"], round(price + half_spread, 10), size))
    if instrument.sec_type not in QUOTE_ONLY_SEC_TYPES:
        session.send(encode.tick_price(req_id, ticks["last"], price, size))
        session.send(encode.tick_size(req_id, ticks["volume"], 1000.0))
    session.send(encode.tick_price(req_id, ticks["close"], instrument.default_price, 0.0))
    if instrument.sec_type not in QUOTE_ONLY_SEC_TYPES:
        session.send(encode.tick_string(req_id, ticks["last_time"], str(int(engine.clock()))))
