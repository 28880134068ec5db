"""Saving and restoring the engine's state (``--state FILE``), so a simulator restart
keeps orders, fills, positions and order ids as a real Gateway restart does."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ibsim.engine import Engine
from ibsim.model import Fill, Position, SimOrder
from ibsim.place_order import OrderTicket

log = logging.getLogger("ibsim.state")
FORMAT_VERSION = 1


def _order_record(order: SimOrder) -> dict[str, Any]:
    record = asdict(order)
    record["instrument"] = order.instrument.con_id
    return record


def _fill_record(fill: Fill) -> dict[str, Any]:
    record = asdict(fill)
    record["instrument"] = fill.instrument.con_id
    return record


def snapshot(engine: Engine) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "prices": {str(k): v for k, v in engine.prices.items()},
        "accounts": {
            name: {
                "cash": a.cash,
                "starting_cash": a.starting_cash,
                "realized_today": a.realized_today,
                "realized": {str(k): v for k, v in a.realized.items()},
                "positions": [asdict(p) for p in a.positions.values()],
                "day_cash_flow": {str(k): v for k, v in a.day_cash_flow.items()},
                "day_commissions": {str(k): v for k, v in a.day_commissions.items()},
                "day_start": {str(k): list(v) for k, v in a.day_start.items()},
            }
            for name, a in engine.accounts.items()
        },
        "orders": [_order_record(o) for o in engine.orders.values()],
        "fills": [_fill_record(f) for f in engine.fills],
        "highest_order_id": {str(k): v for k, v in engine.highest_order_id.items()},
        "next_perm_id": engine.next_perm_id,
        "exec_seq": engine.exec_seq,
    }


def save_state(engine: Engine, path: Path) -> None:
    """Write atomically: a crash mid-write must not leave a half file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w") as handle:
        json.dump(snapshot(engine), handle)
    temporary.replace(path)


def load_state(engine: Engine, path: Path) -> None:
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT_VERSION:
        log.warning("ignoring state file %s of unknown format", path)
        return
    restore(engine, data)
    log.info("restored %d orders and %d fills from %s", len(engine.orders), len(engine.fills), path)


def restore(engine: Engine, data: dict[str, Any]) -> None:
    catalogue = engine.catalogue
    engine.prices.update({int(k): float(v) for k, v in data["prices"].items()})
    for name, saved in data["accounts"].items():
        account = engine.accounts.get(name)
        if account is None:
            continue
        account.cash = saved["cash"]
        account.starting_cash = saved["starting_cash"]
        account.realized_today = saved["realized_today"]
        account.realized = {int(k): v for k, v in saved.get("realized", {}).items()}
        account.positions = {p["con_id"]: Position(**p) for p in saved["positions"]}
        account.day_cash_flow = {int(k): v for k, v in saved["day_cash_flow"].items()}
        account.day_commissions = {int(k): v for k, v in saved["day_commissions"].items()}
        account.day_start = {int(k): (v[0], v[1]) for k, v in saved["day_start"].items()}
    for record in data["orders"]:
        instrument = catalogue.by_con_id(record.pop("instrument"))
        if instrument is None:
            continue
        record["ticket"] = OrderTicket(**record["ticket"])
        order = SimOrder(instrument=instrument, **record)
        engine.orders[order.perm_id] = order
        if not order.finished:
            engine.live[order.perm_id] = order
        engine.order_keys[(order.client_id, order.order_id)] = order.perm_id
    for record in data["fills"]:
        instrument = catalogue.by_con_id(record.pop("instrument"))
        if instrument is not None:
            engine.fills.append(Fill(instrument=instrument, **record))
    engine.highest_order_id = {int(k): v for k, v in data["highest_order_id"].items()}
    engine.next_perm_id = data["next_perm_id"]
    engine.exec_seq = data["exec_seq"]
