"""What strategy alerts mean through the IBKR path, counted at ibsim: several real worker
processes racing on one instrument never leave a doubled or an unintended position."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.gateway.support import IbStack
from tests.support import TOKEN, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Several worker processes take alerts at once, as in production.
WORKERS = 3


def ib_position(stack: IbStack, symbol: str) -> float:
    rows = stack.sim.get("/positions")
    return sum(float(r["position"]) for r in rows if r["symbol"] == symbol)


def ib_orders(stack: IbStack, leg: str, symbol: str) -> list[dict[str, Any]]:
    return [
        o
        for o in stack.sim.get("/orders")
        if (o.get("orderRef") or "").split(":")[0].endswith("." + leg) and o["symbol"] == symbol
    ]


def send_all(stack: IbStack, bodies: list[dict[str, Any]]) -> None:
    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = list(pool.map(lambda body: stack.alert(body).status_code, bodies))
    assert statuses == [202] * len(bodies)


def test_simultaneous_closes_end_flat_never_short(ib_stack: IbStack) -> None:
    ib_stack.alert({"symbol": "AMD", "action": "buy", "quantity": 5, "alert_id": "amd-long"})
    ib_stack.wait_alert("amd-long")
    assert ib_position(ib_stack, "AMD") == 5
    send_all(
        ib_stack,
        [{"symbol": "AMD", "action": "close", "alert_id": f"amd-close-{n}"} for n in range(3)],
    )
    states = [ib_stack.wait_alert(f"amd-close-{n}", timeout=30) for n in range(3)]
    assert ib_position(ib_stack, "AMD") == 0
    closes = ib_orders(ib_stack, "close", "AMD")
    assert [float(o["totalQuantity"]) for o in closes] == [5.0]
    # One close traded; the others found the position already flat.
    assert sorted(s["reason"] or "" for s in states)[1:] == ["already flat in AMD"] * 2


def test_the_same_target_from_racing_workers_is_placed_once(ib_stack: IbStack) -> None:
    send_all(
        ib_stack,
        [
            {"symbol": "INTC", "action": "buy", "position_size": 4, "alert_id": f"intc-{n}"}
            for n in range(4)
        ],
    )
    for n in range(4):
        ib_stack.wait_alert(f"intc-{n}", timeout=30)
    assert ib_position(ib_stack, "INTC") == 4
    assert len(ib_orders(ib_stack, "entry", "INTC")) == 1


def test_reverse_and_target_across_zero_through_ib(ib_stack: IbStack) -> None:
    ib_stack.alert({"symbol": "IBM", "action": "buy", "quantity": 3, "alert_id": "ibm-long"})
    ib_stack.wait_alert("ibm-long")
    ib_stack.alert({"symbol": "IBM", "action": "reverse", "alert_id": "ibm-rev"})
    state = ib_stack.wait_alert("ibm-rev", timeout=30)
    assert [(o["leg"], o["status"]) for o in state["orders"]] == [
        ("close", "filled"),
        ("open", "filled"),
    ]
    assert ib_position(ib_stack, "IBM") == -3
    ib_stack.alert({"symbol": "IBM", "action": "buy", "position_size": 2, "alert_id": "ibm-t"})
    ib_stack.wait_alert("ibm-t", timeout=30)
    assert ib_position(ib_stack, "IBM") == 2


def test_close_leaves_a_manual_position_change_flat_and_cancels_our_resting_entry(
    ib_stack: IbStack,
) -> None:
    ib_stack.alert(
        {
            "symbol": "ORCL",
            "action": "buy",
            "quantity": 2,
            "order_type": "limit",
            "limit_price": 1,
            "alert_id": "orcl-rest",
        }
    )
    assert ib_stack.wait_alert("orcl-rest")["orders"][0]["status"] == "submitted"
    ib_stack.alert({"symbol": "ORCL", "action": "buy", "quantity": 1, "alert_id": "orcl-mkt"})
    ib_stack.wait_alert("orcl-mkt")
    ib_stack.alert({"symbol": "ORCL", "action": "close", "alert_id": "orcl-close"})
    ib_stack.wait_alert("orcl-close", timeout=30)
    assert ib_position(ib_stack, "ORCL") == 0
    [resting] = ib_stack.sim.orders("tvb.orcl-rest.entry")
    assert resting["status"] == "Cancelled"


def test_explain_reads_the_position_at_ib_by_contract_and_sends_nothing(
    ib_stack: IbStack,
) -> None:
    body = {
        "symbol": "NASDAQ:AAPL",
        "action": "buy",
        "quantity": 2,
        "price": 190,
        "stop_loss_percent": 1,
    }
    before = len(ib_stack.sim.get("/orders"))
    answer = ib_stack.session.post(
        ib_stack.url + "/api/explain", json=body, headers=AUTH, timeout=10
    ).json()
    assert (answer["would"], answer["instrument_id"]) == ("trade", "265598"), answer["reason"]
    assert [leg["leg"] for leg in answer["plan"]["legs"]] == ["entry", "sl"]
    assert len(ib_stack.sim.get("/orders")) == before


def test_flatten_through_ib_leaves_no_position_and_no_working_order_of_ours(
    ib_stack: IbStack,
) -> None:
    """Last in this module: it closes every position the tests above left at ibsim."""
    ib_stack.alert({"symbol": "MSFT", "action": "buy", "quantity": 3, "alert_id": "fl-msft"})
    ib_stack.wait_alert("fl-msft")
    resting = {
        "symbol": "NVDA",
        "action": "buy",
        "quantity": 2,
        "order_type": "limit",
        "limit_price": 1,
        "alert_id": "fl-rest",
    }
    ib_stack.alert(resting)
    assert ib_stack.wait_alert("fl-rest")["orders"][0]["status"] == "submitted"
    preview = ib_stack.session.post(ib_stack.url + "/api/flatten", headers=AUTH, timeout=10)
    assert preview.status_code == 200, preview.text
    assert {"symbol": "MSFT", "quantity": 3} in preview.json()["positions"]
    assert preview.json()["working_orders"]["NVDA"] == ["tvb.fl-rest.entry"]
    done = ib_stack.session.post(
        ib_stack.url + "/api/flatten",
        json={"confirm": preview.json()["confirm"]},
        headers=AUTH,
        timeout=10,
    )
    assert done.status_code == 202, done.text
    for alert_id in done.json()["alerts"]:
        ib_stack.wait_alert(alert_id, timeout=30)
    # A close is done once IB has it; its fill follows.
    wait_for(
        lambda: all(float(row["position"]) == 0 for row in ib_stack.sim.get("/positions")),
        timeout=10,
        message=f"every position at ibsim to be flat: {ib_stack.sim.get('/positions')}",
    )
    [rested] = ib_stack.sim.orders("tvb.fl-rest.entry")
    assert rested["status"] == "Cancelled"
