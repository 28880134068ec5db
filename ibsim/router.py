"""Delivers the engine's announcements to the sessions that should hear them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ibsim import feeds
from ibsim.model import Fill, SimOrder

if TYPE_CHECKING:
    from ibsim.server import IBSim


class SessionRouter:
    def __init__(self, sim: IBSim) -> None:
        self.sim = sim

    def order_changed(self, order: SimOrder, with_open_order: bool) -> None:
        session = self.sim.clients.get(order.client_id)
        if session is not None:
            feeds.send_order(session, order, with_open_order)
        self.sim.schedule_save()

    def order_error(self, client_id: int, order_id: int, code: int, message: str) -> None:
        session = self.sim.clients.get(client_id)
        if session is not None:
            session.error(order_id, code, message)

    def executed(self, fill: Fill) -> None:
        session = self.sim.clients.get(fill.client_id)
        if session is not None:
            feeds.send_execution(session, -1, fill)
        self.sim.schedule_save()

    def commission_reported(self, fill: Fill) -> None:
        session = self.sim.clients.get(fill.client_id)
        if session is not None:
            feeds.send_commission(session, fill)

    def position_changed(self, account: str, con_id: int) -> None:
        for session in list(self.sim.clients.values()):
            feeds.send_position_update(session, account, con_id)

    def price_changed(self, con_id: int) -> None:
        engine = self.sim.engine
        holders = [
            account
            for account in engine.accounts.values()
            if account.positions.get(con_id) is not None and account.positions[con_id].quantity != 0
        ]
        for session in list(self.sim.clients.values()):
            for req_id, subscribed in session.subs.market_data.items():
                if subscribed == con_id:
                    feeds.send_ticks(session, req_id, con_id)
            for account in holders:
                if session.subs.account_updates == account.name:
                    position = account.positions[con_id]
                    session.send(feeds.portfolio_message(session, account.name, position))
                feeds.send_pnl_updates(session, account.name, {con_id})
