"""What-if orders: the margin and commission impact, answered with openOrder, nothing booked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ibsim.accounts import commission_for, initial_margin_change
from ibsim.encode_orders import open_order
from ibsim.faults import error_text
from ibsim.model import PRE_SUBMITTED, Position
from ibsim.order_checks import order_problem
from ibsim.place_order import OrderTicket
from ibsim.reports import money
from ibsim.wire import Field

if TYPE_CHECKING:
    from ibsim.session import Session

MAINTENANCE_SHARE = 0.8


def answer_what_if(session: Session, client_id: int, ticket: OrderTicket) -> None:
    engine = session.sim.engine
    highest = engine.highest_order_id
    highest[client_id] = max(highest.get(client_id, 0), ticket.order_id)
    instrument = engine.resolve(ticket.contract)
    if instrument is None:
        session.error(ticket.order_id, 200, error_text(200))
        return
    refusal = order_problem(ticket, instrument, engine.account_names)
    if refusal:
        session.error(ticket.order_id, refusal.code, refusal.text)
        return
    order = engine.new_order(client_id, ticket, instrument, booked=False)
    account = engine.accounts[order.account]
    values = engine.ledger.values(account)
    price = order.limit_price or engine.price(instrument.con_id)
    held = account.positions.get(instrument.con_id, Position(instrument.con_id)).quantity
    signed = order.quantity if order.is_buy else -order.quantity
    init_change = initial_margin_change(instrument, held, signed, price)
    commission = commission_for(instrument, order.quantity, price)
    init_before = values["InitMarginReq"]
    equity_before = values["EquityWithLoanValue"]
    preview: list[Field] = [
        money(init_before),
        money(init_before * MAINTENANCE_SHARE),
        money(equity_before),
        money(init_change),
        money(init_change * MAINTENANCE_SHARE),
        money(-commission),
        money(init_before + init_change),
        money((init_before + init_change) * MAINTENANCE_SHARE),
        money(equity_before - commission),
        commission,
        commission,
        commission,
        "USD",
        "",
    ]
    session.send(open_order(order, session.server_version, PRE_SUBMITTED, preview))
