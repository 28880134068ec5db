"""Position, account, summary and PnL requests (and their cancels)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ibsim import encode, feeds
from ibsim.reports import summary_rows

if TYPE_CHECKING:
    from ibsim.session import Session

Handler = Callable[["Session", list[str]], None]


def _accounts_for(session: Session, name: str) -> list[str]:
    """An account, or every account for "All" / an empty name / a group name."""
    names = session.sim.engine.account_names
    return [name] if name in names else names


def positions(session: Session, fields: list[str]) -> None:
    session.subs.positions = True
    engine = session.sim.engine
    for account in engine.accounts.values():
        for position in account.positions.values():
            instrument = engine.catalogue.by_con_id(position.con_id)
            if instrument is not None and position.quantity != 0:
                session.send(
                    encode.position(account.name, instrument, position.quantity, position.avg_cost)
                )
    session.send(encode.end_message(62))


def cancel_positions(session: Session, fields: list[str]) -> None:
    session.subs.positions = False


def account_updates(session: Session, fields: list[str]) -> None:
    subscribe = fields[2] == "1"
    engine = session.sim.engine
    account = fields[3] if len(fields) > 3 and fields[3] else engine.account_names[0]
    if not subscribe:
        session.subs.account_updates = None
        return
    if account not in engine.accounts:
        session.error(
            -1, 321, f"Error validating request:-'bW' : cause - Invalid account {account}"
        )
        return
    session.subs.account_updates = account
    feeds.send_account_values(session, account)
    for position in engine.accounts[account].positions.values():
        if position.quantity != 0:
            session.send(feeds.portfolio_message(session, account, position))
    session.send(encode.account_time(engine.clock()))
    session.send(encode.end_message(54, account))


def account_summary(session: Session, fields: list[str]) -> None:
    req_id, group, tags = int(fields[2]), fields[3], fields[4].split(",")
    session.subs.account_summaries[req_id] = (group, tags)
    engine = session.sim.engine
    for name in _accounts_for(session, group):
        for tag, value, currency in summary_rows(engine.ledger, engine.accounts[name], tags):
            session.send(encode.account_summary(req_id, name, tag, value, currency))
    session.send(encode.end_message(64, req_id))


def cancel_account_summary(session: Session, fields: list[str]) -> None:
    session.subs.account_summaries.pop(int(fields[2]), None)


def positions_multi(session: Session, fields: list[str]) -> None:
    req_id, account_name = int(fields[2]), fields[3]
    session.subs.positions_multi[req_id] = account_name
    engine = session.sim.engine
    for name in _accounts_for(session, account_name):
        for position in engine.accounts[name].positions.values():
            instrument = engine.catalogue.by_con_id(position.con_id)
            if instrument is not None and position.quantity != 0:
                session.send(
                    encode.position_multi(
                        req_id, name, instrument, position.quantity, position.avg_cost
                    )
                )
    session.send(encode.end_message(72, req_id))


def cancel_positions_multi(session: Session, fields: list[str]) -> None:
    session.subs.positions_multi.pop(int(fields[2]), None)


def account_updates_multi(session: Session, fields: list[str]) -> None:
    req_id, account_name = int(fields[2]), fields[3]
    session.subs.account_multi[req_id] = account_name
    for name in _accounts_for(session, account_name):
        feeds.send_account_multi(session, req_id, name, full=True)
    session.send(encode.end_message(74, req_id))


def cancel_account_updates_multi(session: Session, fields: list[str]) -> None:
    session.subs.account_multi.pop(int(fields[2]), None)


def pnl(session: Session, fields: list[str]) -> None:
    req_id, account = int(fields[1]), fields[2]
    session.subs.pnl[req_id] = account
    feeds.send_pnl(session, req_id, account)


def cancel_pnl(session: Session, fields: list[str]) -> None:
    session.subs.pnl.pop(int(fields[1]), None)


def pnl_single(session: Session, fields: list[str]) -> None:
    req_id, account, con_id = int(fields[1]), fields[2], int(fields[4] or 0)
    session.subs.pnl_single[req_id] = (account, con_id)
    feeds.send_pnl_single(session, req_id, account, con_id)


def cancel_pnl_single(session: Session, fields: list[str]) -> None:
    session.subs.pnl_single.pop(int(fields[1]), None)


ACCOUNT_HANDLERS: dict[int, Handler] = {
    6: account_updates,
    61: positions,
    62: account_summary,
    63: cancel_account_summary,
    64: cancel_positions,
    74: positions_multi,
    75: cancel_positions_multi,
    76: account_updates_multi,
    77: cancel_account_updates_multi,
    92: pnl,
    93: cancel_pnl,
    94: pnl_single,
    95: cancel_pnl_single,
}
