"""The gateway under IB faults (ibsim's fault injection), with the whole stack running:
G1 socket dropped after placeOrder, G2 nextValidId rolled back, G3 disconnect during a
query, G4 1100/1102, G7 restart with state from before, R4 gateway killed holding a
request, and IB refusing connections."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import redis

from tests.gateway.support import IbStack
from tests.support import wait_for
from trading.brokers import ibkr_protocol as wire
from trading.brokers.port import OrderRequest
from trading.errors import TemporaryError


def _market(alert_id: str, symbol: str = "AAPL", **extra: object) -> dict[str, object]:
    return {"symbol": symbol, "action": "buy", "quantity": 1, "alert_id": alert_id, **extra}


def _resting(alert_id: str, symbol: str = "JPM") -> dict[str, object]:
    return {
        "symbol": symbol,
        "action": "buy",
        "quantity": 2,
        "order_type": "limit",
        "limit_price": 1,
        "alert_id": alert_id,
    }


def _wait_probes(stack: IbStack, count: int) -> None:
    """Wait until the gateway has answered ``count`` more liveness probes."""
    broker = stack.broker()
    seen: set[float] = set()
    first = broker.health().detail.get("last_probe_at") or 0.0

    def probed() -> bool:
        at = broker.health().detail.get("last_probe_at")
        if at and at > first:
            seen.add(at)
        return len(seen) >= count

    wait_for(probed, timeout=15, message=f"{count} liveness probes")


def _gateway_holds_a_request(stack: IbStack) -> bool:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        return bool(client.xpending(wire.REQUESTS_STREAM, wire.REQUESTS_GROUP)["pending"])
    finally:
        client.close()


def _wait_reconnected(stack: IbStack, before: int) -> None:
    wait_for(lambda: stack.gateway_reconnects() > before, timeout=20, message="a reconnect")
    stack.wait_serving()


def test_g1_socket_dropped_after_place_is_not_placed_again(ib_stack: IbStack) -> None:
    before = ib_stack.gateway_reconnects()
    ib_stack.sim.fault("drop_after_place", accept=True)
    assert ib_stack.alert(_market("ib-g1")).status_code == 202
    state = ib_stack.wait_alert("ib-g1", timeout=40)
    wait_for(lambda: ib_stack.gateway_reconnects() > before, timeout=5, message="the reconnect")
    assert state["orders"][0]["status"] == "filled"
    assert len(ib_stack.sim.orders("tvb.ib-g1.entry")) == 1


def test_g2_rolled_back_next_valid_id_never_reuses_an_id(ib_stack: IbStack) -> None:
    ib_stack.alert(_market("ib-g2a"))
    ib_stack.wait_alert("ib-g2a")
    highest = max(o["orderId"] for o in ib_stack.sim.get("/orders", clientId=1))
    before = ib_stack.gateway_reconnects()
    ib_stack.sim.fault("next_valid_id_rollback", by=50)
    ib_stack.sim.fault("disconnect")
    _wait_reconnected(ib_stack, before)
    ib_stack.alert(_market("ib-g2b"))
    state = ib_stack.wait_alert("ib-g2b")
    assert state["orders"][0]["status"] == "filled", state
    [order] = ib_stack.sim.orders("tvb.ib-g2b.entry")
    assert order["orderId"] > highest
    assert "Error 103" not in ib_stack.log("gateway")


def test_g3_disconnect_during_positions_is_an_error_not_empty(ib_stack: IbStack) -> None:
    ib_stack.wait_serving()
    # A position of its own, so "the real positions are back" holds when run alone.
    assert ib_stack.alert(_market("ib-g3", symbol="AAPL")).status_code == 202
    ib_stack.wait_alert("ib-g3")
    broker = ib_stack.broker()
    before = ib_stack.gateway_reconnects()
    ib_stack.sim.fault("delay", seconds=3.0)
    with ThreadPoolExecutor(1) as pool:
        # One attempt (no retry), so the answer to exactly this query is seen; ibsim holds
        # its reply for 3 s, so the query is in flight when the socket drops.
        answer = pool.submit(broker._call, "positions", {})
        wait_for(lambda: _gateway_holds_a_request(ib_stack), timeout=5, message="in flight")
        ib_stack.sim.fault("disconnect")
        ib_stack.sim.fault("clear")
        with pytest.raises(TemporaryError, match="connection lost during"):
            result = answer.result(timeout=10)
            pytest.fail(f"a cut-short positions query answered {result!r}")
    _wait_reconnected(ib_stack, before)
    positions = broker.positions()
    assert any(p.symbol == "AAPL" for p in positions), "the real positions are back"


def test_g4_1100_holds_without_reconnecting_and_1102_resumes(ib_stack: IbStack) -> None:
    ib_stack.wait_serving()
    broker = ib_stack.broker()
    before = ib_stack.gateway_reconnects()
    ib_stack.sim.fault("connectivity", code=1100)
    wait_for(
        lambda: broker.health().connected and not broker.health().tradeable,
        timeout=5,
        message="1100 to make the gateway not tradeable",
    )
    ib_stack.alert(_market("ib-g4", symbol="TSLA"))
    _wait_probes(ib_stack, 3)  # the socket is fine: probes answer, so no reconnect
    assert ib_stack.alert_state("ib-g4")["status"] not in ("done", "rejected", "expired")
    assert not ib_stack.sim.orders("tvb.ib-g4.entry")
    assert ib_stack.gateway_reconnects() == before and broker.health().connected
    assert ib_stack.session.get(ib_stack.url + "/ready", timeout=5).status_code == 503
    ib_stack.sim.fault("connectivity", code=1102)
    state = ib_stack.wait_alert("ib-g4", timeout=20)
    assert state["orders"][0]["status"] == "filled"
    assert len(ib_stack.sim.orders("tvb.ib-g4.entry")) == 1
    assert ib_stack.gateway_reconnects() == before


def test_g7_restart_with_open_orders_a_fill_and_a_position(ib_stack: IbStack) -> None:
    """What happened while the gateway was down is in the ledger before it answers an RPC."""
    for alert_id in ("ib-g7-open", "ib-g7-fill"):
        ib_stack.alert(_resting(alert_id))
        assert ib_stack.wait_alert(alert_id)["orders"][0]["status"] == "submitted"
    ib_stack.stop("gateway")
    ib_stack.sim.post("/fills", {"orderRef": "tvb.ib-g7-fill.entry"})
    ib_stack.start_gateway()
    broker = ib_stack.broker()
    first = wait_for(
        lambda: broker.order_by_reference("tvb.ib-g7-open.entry"),
        timeout=20,
        message="the restarted gateway's first answer",
    )
    filled = ib_stack.alert_state("ib-g7-fill")
    assert filled["orders"][0]["status"] == "filled", filled
    assert len(filled["fills"]) == 1
    assert first.status == "submitted"
    assert ib_stack.alert_state("ib-g7-open")["orders"][0]["status"] == "submitted"
    assert ib_stack.position("JPM") >= 2


def test_r4_request_held_by_a_killed_gateway_is_reclaimed_and_answered_once(
    ib_stack: IbStack,
) -> None:
    ib_stack.wait_serving()
    broker = ib_stack.broker(place_timeout=12)
    request = OrderRequest(
        reference="tvb.ib-r4.entry", symbol="IBM", side="buy", quantity=Decimal(1)
    )
    broker.resolve_contract("IBM")  # cached, so the delayed part is the order itself
    ib_stack.sim.fault("delay", seconds=5)
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(broker.submit, request)
        wait_for(lambda: ib_stack.sim.orders(request.reference), timeout=5, message="the order")
        ib_stack.stop("gateway", signal.SIGKILL)
        ib_stack.sim.fault("clear")
        ib_stack.start_gateway()
        placed = answer.result(timeout=20)
    assert placed.reference == request.reference
    assert len(ib_stack.sim.orders(request.reference)) == 1
    client = redis.Redis.from_url(ib_stack.env["REDIS_URL"])
    assert not client.keys(wire.REPLY_PREFIX + "*"), "every reply was taken exactly once"
    pending = client.xpending(wire.REQUESTS_STREAM, wire.REQUESTS_GROUP)
    assert pending["pending"] == 0


def test_refused_connections_hold_alerts_then_place_once_or_expire(ib_stack: IbStack) -> None:
    """IB refusing connections "for a minute", shortened to 8 s: the logic is the same. A fresh
    alert waits and is placed once; one whose maximum age passes meanwhile is expired."""
    ib_stack.wait_serving()
    ib_stack.sim.fault("disconnect", refuse_seconds=8)
    wait_for(lambda: not ib_stack.broker().health().connected, timeout=5, message="down")
    ib_stack.alert(_market("ib-refuse-a", symbol="QQQ"))
    stale = int(time.time()) - 56  # ALERT_MAX_AGE_SECONDS=60 in this stack
    ib_stack.alert(_market("ib-refuse-b", symbol="SPY", timestamp=stale))
    expired = ib_stack.wait_alert("ib-refuse-b", status="expired", timeout=20)
    # Recorded by the processor ("broker unavailable until ...") or, when its last Celery
    # retry was discarded at the expiry, by the sweeper ("alert was N s old ...").
    assert expired["reason"] and ("unavailable" in expired["reason"] or "old" in expired["reason"])
    # With IB down the position cannot be read, so there may be no plan, hence no order, yet.
    assert all(o["status"] in ("expired", "planned") for o in expired["orders"])
    assert ib_stack.alert_state("ib-refuse-a")["status"] not in ("done", "expired")
    state = ib_stack.wait_alert("ib-refuse-a", timeout=30)
    assert state["orders"][0]["status"] == "filled"
    assert len(ib_stack.sim.orders("tvb.ib-refuse-a.entry")) == 1
    assert not ib_stack.sim.orders("tvb.ib-refuse-b.entry")


def test_g8_order_ref_with_ibs_suffix_is_matched_to_our_order(ib_stack: IbStack) -> None:
    """IB may hand a reference back as ``<ref>:<n>``: the fill still lands on our order."""
    from ib_async import IB

    ib_stack.alert(_resting("ib-g8", symbol="NVDA"))
    assert ib_stack.wait_alert("ib-g8")["orders"][0]["status"] == "submitted"
    ib_stack.stop("gateway")
    direct = IB()
    direct.connect("127.0.0.1", ib_stack.sim.port, clientId=1, timeout=5)
    try:
        [trade] = [t for t in direct.openTrades() if t.order.orderRef == "tvb.ib-g8.entry"]
        trade.order.orderRef = "tvb.ib-g8.entry:7"
        direct.placeOrder(trade.contract, trade.order)
        wait_for(
            lambda: (
                [o["orderRef"] for o in ib_stack.sim.orders("tvb.ib-g8.entry")]
                == ["tvb.ib-g8.entry:7"]
            ),
            timeout=5,
            message="the modified reference at ibsim",
        )
    finally:
        direct.disconnect()
    [at_ib] = ib_stack.sim.orders("tvb.ib-g8.entry")
    assert at_ib["orderRef"] == "tvb.ib-g8.entry:7"
    ib_stack.sim.post("/fills", {"permId": at_ib["permId"]})
    ib_stack.start_gateway()
    ib_stack.wait_serving()
    state = ib_stack.alert_state("ib-g8")
    assert state["orders"][0]["status"] == "filled", state
    assert len(state["fills"]) == 1
    assert ib_stack.broker().order_by_reference("tvb.ib-g8.entry") is not None


def test_1101_resynchronises_without_reconnecting(ib_stack: IbStack) -> None:
    ib_stack.wait_serving()
    broker = ib_stack.broker()
    before = ib_stack.gateway_reconnects()
    ib_stack.sim.fault("connectivity", code=1100)
    wait_for(lambda: not broker.health().tradeable, timeout=5, message="not tradeable")
    ib_stack.sim.fault("connectivity", code=1101)
    wait_for(lambda: broker.health().tradeable, timeout=10, message="tradeable after 1101")
    assert ib_stack.gateway_reconnects() == before
    assert "1101" in ib_stack.log("gateway")
    ib_stack.alert(_market("ib-1101", symbol="AMZN"))
    assert ib_stack.wait_alert("ib-1101")["orders"][0]["status"] == "filled"


def test_g6_second_gateway_waits_on_standby_and_takes_over(ib_stack: IbStack) -> None:
    """A second gateway for the same login neither connects to IB nor takes requests while
    the first one runs; when the first dies it takes over (lease lapsed, same client id)."""
    ib_stack.wait_serving()
    standby = ib_stack.start_gateway("gateway-2")
    wait_for(lambda: "standby" in ib_stack.log("gateway-2"), timeout=10, message="standby")
    broker = ib_stack.broker()
    for _ in range(5):
        broker.order_by_reference("tvb.ib-g1.entry")
    client = redis.Redis.from_url(ib_stack.env["REDIS_URL"])
    consumers = client.xinfo_consumers(wire.REQUESTS_STREAM, wire.REQUESTS_GROUP)
    assert not any(str(standby.pid) in c["name"].decode() for c in consumers)
    assert "connected to IB" not in ib_stack.log("gateway-2")

    ib_stack.stop("gateway", signal.SIGKILL)
    wait_for(lambda: "serving RPCs" in ib_stack.log("gateway-2"), timeout=20, message="takeover")
    ib_stack.wait_serving()
    ib_stack.alert(_market("ib-g6", symbol="MSFT"))
    assert ib_stack.wait_alert("ib-g6")["orders"][0]["status"] == "filled"
    assert len(ib_stack.sim.orders("tvb.ib-g6.entry")) == 1
    # Hand back to the usual process name for any later test.
    served_before = ib_stack.log("gateway").count("serving RPCs")
    ib_stack.start_gateway()
    ib_stack.stop("gateway-2")
    wait_for(
        lambda: ib_stack.log("gateway").count("serving RPCs") > served_before,
        timeout=20,
        message="handback",
    )
    ib_stack.wait_serving()


def test_standby_stays_standby_across_a_redis_restart(ib_stack: IbStack) -> None:
    """Redis restarts empty while a standby waits: the live primary renews the vanished
    lease first, so the standby neither serves RPCs nor publishes health."""
    ib_stack.wait_serving()
    offset = len(ib_stack.log("gateway-2"))  # an earlier test may have used this name
    standby = ib_stack.start_gateway("gateway-2")

    def since_start() -> str:
        return ib_stack.log("gateway-2")[offset:]

    wait_for(lambda: "standby" in since_start(), timeout=10, message="standby")
    try:
        ib_stack.redis.kill()
        ib_stack.redis.start()
        broker = ib_stack.broker()
        wait_for(lambda: broker.health().connected, timeout=20, message="primary healthy")
        deadline = time.monotonic() + 4.0  # four lease periods
        while time.monotonic() < deadline:
            assert broker.health().connected, "health flipped: a second gateway published"
            time.sleep(0.2)
        assert "serving RPCs" not in since_start()
        assert standby.poll() is None
    finally:
        ib_stack.stop("gateway-2")


def test_redis_restart_recreates_the_groups(ib_stack: IbStack) -> None:
    """Redis comes back empty (no persistence here): request and event groups are recreated
    and the RPC path works again; the health key reappears within a second. Last in this
    module: the Celery worker may not survive a Redis restart (not the gateway's part)."""
    ib_stack.alert(_resting("ib-redis", symbol="MSFT"))
    assert ib_stack.wait_alert("ib-redis")["orders"][0]["status"] == "submitted"
    ib_stack.redis.kill()
    ib_stack.redis.start()
    broker = ib_stack.broker()
    wait_for(
        lambda: broker.order_by_reference("tvb.ib-redis.entry"),
        timeout=20,
        message="an RPC answered after the Redis restart",
    )
    ib_stack.sim.post("/fills", {"orderRef": "tvb.ib-redis.entry"})
    wait_for(
        lambda: ib_stack.alert_state("ib-redis")["orders"][0]["status"] == "filled",
        timeout=15,
        message="an event recorded after the Redis restart",
    )
