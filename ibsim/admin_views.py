"""Read-only admin views of the simulator's state, as JSON-ready dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ibsim.model import Fill, SimOrder

if TYPE_CHECKING:
    from ibsim.server import IBSim

Query = dict[str, str]


def health_view(sim: IBSim, query: Query) -> dict[str, Any]:
    return {
        "status": "ok",
        "port": sim.port,
        "admin_port": sim.admin_port,
        "accepting": not sim.faults.refusing(),
        "server_version": sim.options.server_version,
        "realism": sim.options.realism,
        "accounts": sim.engine.account_names,
        "clients": sorted(sim.clients),
        "connections": len(sim.connections),
    }


def order_view(order: SimOrder) -> dict[str, Any]:
    instrument = order.instrument
    return {
        "orderId": order.order_id,
        "clientId": order.client_id,
        "permId": order.perm_id,
        "orderRef": order.order_ref,
        "account": order.account,
        "symbol": instrument.symbol,
        "localSymbol": instrument.local_symbol,
        "secType": instrument.sec_type,
        "conId": instrument.con_id,
        "action": order.action,
        "totalQuantity": order.quantity,
        "orderType": order.order_type,
        "lmtPrice": order.limit_price,
        "auxPrice": order.stop_price,
        "tif": order.tif,
        "parentId": order.parent_id,
        "ocaGroup": order.oca_group,
        "transmit": order.transmit,
        "status": order.status,
        "filled": order.filled,
        "remaining": order.remaining,
        "avgFillPrice": order.avg_fill_price,
        "avg_price": order.avg_fill_price,
        "lastFillPrice": order.last_fill_price,
        "createdAt": order.created_at,
        "completedAt": order.completed_at,
    }


def orders_view(sim: IBSim, query: Query) -> list[dict[str, Any]]:
    views = [order_view(o) for o in sorted(sim.engine.orders.values(), key=lambda o: o.perm_id)]
    for key in ("orderRef", "status", "symbol", "clientId", "account"):
        if key in query:
            views = [v for v in views if str(v[key]) == query[key]]
    return views


def positions_view(sim: IBSim, query: Query) -> list[dict[str, Any]]:
    engine = sim.engine
    rows = []
    for account in engine.accounts.values():
        for position in account.positions.values():
            instrument = engine.catalogue.by_con_id(position.con_id)
            if instrument is None or (position.quantity == 0 and "all" not in query):
                continue
            multiplier = instrument.size_multiplier
            rows.append(
                {
                    "account": account.name,
                    "symbol": instrument.symbol,
                    "localSymbol": instrument.local_symbol,
                    "secType": instrument.sec_type,
                    "conId": instrument.con_id,
                    "position": position.quantity,
                    "quantity": position.quantity,
                    "avgCost": position.avg_cost,
                    "avg_price": position.avg_cost / multiplier,
                    "marketPrice": engine.price(position.con_id),
                    "marketValue": engine.ledger.market_value(position),
                    "unrealizedPnL": engine.ledger.unrealized(position),
                }
            )
    return rows


def fill_view(fill: Fill) -> dict[str, Any]:
    return {
        "execId": fill.exec_id,
        "orderId": fill.order_id,
        "clientId": fill.client_id,
        "permId": fill.perm_id,
        "orderRef": fill.order_ref,
        "account": fill.account,
        "symbol": fill.instrument.symbol,
        "conId": fill.instrument.con_id,
        "side": fill.side,
        "shares": fill.shares,
        "price": fill.price,
        "cumQty": fill.cum_qty,
        "avgPrice": fill.avg_price,
        "time": fill.time,
        "commission": fill.commission,
        "realizedPnL": fill.realized_pnl,
    }


def executions_view(sim: IBSim, query: Query) -> list[dict[str, Any]]:
    views = [fill_view(f) for f in sim.engine.fills]
    if "orderRef" in query:
        views = [v for v in views if v["orderRef"] == query["orderRef"]]
    return views


def accounts_view(sim: IBSim, query: Query) -> dict[str, Any]:
    engine = sim.engine
    return {name: engine.ledger.values(account) for name, account in engine.accounts.items()}


def prices_view(sim: IBSim, query: Query) -> dict[str, float]:
    engine = sim.engine
    prices: dict[str, float] = {}
    for instrument in engine.catalogue:
        key = instrument.local_symbol if instrument.sec_type != "STK" else instrument.symbol
        prices[key] = engine.price(instrument.con_id)
    return prices
