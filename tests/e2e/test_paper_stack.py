"""The whole paper stack as real processes: the web, Celery workers, Redis, the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import SECRET, RedisServer, Stack, migrate, postgres_database, sqlite_url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp(f"stack-{request.param}")
    with postgres_database() as pg_url:
        if request.param == "postgres" and pg_url is None:
            pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
        url = sqlite_url(directory) if request.param == "sqlite" else str(pg_url)
        migrate(url)
        redis_server = RedisServer(directory / "redis").start()
        stack = Stack(directory, redis_server.url, url)
        try:
            stack.start_web()
            stack.start_worker("worker-a", concurrency=2)
            stack.start_worker("worker-b", concurrency=2)
            yield stack
        finally:
            stack.stop_all()
            redis_server.stop()
            if request.node.session.testsfailed:
                for name in ("web", "worker-a", "worker-b"):
                    print(f"--- {name} log ---\n{stack.log(name)[-3000:]}")


def test_alert_becomes_a_paper_position(stack: Stack) -> None:
    response = stack.alert(
        {
            "symbol": "AAPL",
            "action": "buy",
            "price": 150,
            "quantity": 1,
            "alert_id": "e2e-aapl-1",
            "timestamp": int(time.time()),
        }
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "queued", "alert_id": "e2e-aapl-1"}
    state = stack.wait_alert("e2e-aapl-1")
    assert state["orders"][0]["status"] == "filled"
    assert state["orders"][0]["order_ref"].endswith(".entry")
    assert state["plan"]["kind"] == "add" and len(state["fills"]) == 1
    assert stack.position("AAPL") == 1
    summary = stack.api("/api/account").json()["summary"]
    assert summary["GrossPositionValue"] == 150


def test_duplicate_delivery_trades_once(stack: Stack) -> None:
    body = {"symbol": "AMD", "action": "buy", "price": 100, "quantity": 5, "alert_id": "e2e-dup"}
    statuses = [stack.alert(body).status_code for _ in range(3)]
    assert statuses == [202, 200, 200]
    stack.wait_alert("e2e-dup")
    orders = [o for o in stack.api("/api/orders?symbol=AMD").json()["orders"]]
    assert len(orders) == 1 and stack.position("AMD") == 5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"symbol": "IBM", "action": "buy", "quantity": 1, "price": 1, "secret": "wrong"}, 401),
        ({"symbol": "IBM", "action": "buy", "quantity": "NaN", "price": 1}, 400),
        (
            {
                "symbol": "IBM",
                "action": "buy",
                "quantity": 1,
                "price": 1,
                "timestamp": int(time.time()) - 3600,
            },
            400,
        ),
        (b"x" * 70000, 413),
    ],
)
def test_bad_input_changes_nothing(stack: Stack, body: object, status: int) -> None:
    before = stack.api("/api/orders").json()["orders"]
    response = stack.alert(body)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert "errors" in response.json()
    assert stack.api("/api/orders").json()["orders"] == before
    assert stack.position("IBM") == 0


def test_resting_limit_can_be_cancelled(stack: Stack) -> None:
    stack.alert(
        {
            "symbol": "NFLX",
            "action": "buy",
            "quantity": 1,
            "price": 500,
            "order_type": "limit",
            "limit_price": 400,
            "alert_id": "e2e-limit",
        }
    )
    order = stack.wait_alert("e2e-limit")["orders"][0]
    assert order["status"] == "submitted"
    cancelled = stack.api(f"/api/orders/{order['id']}/cancel", method="POST")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = stack.api(f"/api/orders/{order['id']}/cancel", method="POST")
    assert again.status_code == 409
    assert stack.api("/api/orders/999999/cancel", method="POST").status_code == 404


def test_health_and_ready_see_the_workers(stack: Stack) -> None:
    health = stack.session.get(stack.url + "/health", timeout=5).json()
    assert health["status"] == "ok", health
    assert health["checks"]["workers"]["alive"] == 2
    assert stack.session.get(stack.url + "/ready", timeout=5).status_code == 200


def test_concurrent_alerts_on_one_symbol_lose_nothing(stack: Stack) -> None:
    """Two worker processes, 100 alerts on one symbol: every share is accounted for."""

    def send(i: int) -> int:
        side = "buy" if i % 4 else "sell"
        return stack.alert(
            {
                "symbol": "SPY",
                "action": side,
                "quantity": 2,
                "price": 500 + i % 7,
                "alert_id": f"e2e-spy-{i}",
            }
        ).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, range(100)))
    assert statuses == [202] * 100
    for i in range(100):
        stack.wait_alert(f"e2e-spy-{i}", timeout=60)
    expected = sum(2 if i % 4 else -2 for i in range(100))
    assert stack.position("SPY") == expected
    orders = stack.api("/api/orders?symbol=SPY&limit=1000").json()["orders"]
    assert len(orders) == 100 and all(o["status"] == "filled" for o in orders)
    account = stack.api("/api/account").json()["summary"]
    # Cash moved by exactly what was filled: nothing lost, nothing doubled.
    spent = sum((2 if i % 4 else -2) * (500 + i % 7) for i in range(100))
    assert abs(account["TotalCashValue"] + spent - (100000 - 150 - 500)) < 1e-6


def test_simultaneous_closes_and_reversals_from_two_workers_never_overshoot(stack: Stack) -> None:
    """Closes sent at once end flat, never short; a reversal raced by a close never doubles."""
    stack.alert(
        {"symbol": "TSLA", "action": "buy", "quantity": 5, "price": 200, "alert_id": "ts-l"}
    )
    stack.wait_alert("ts-l")
    closes = [
        {"symbol": "TSLA", "action": "close", "price": 200, "alert_id": f"ts-c{n}"}
        for n in range(4)
    ]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda body: stack.alert(body).status_code, closes)) == [202] * 4
    for n in range(4):
        stack.wait_alert(f"ts-c{n}", timeout=30)
    assert stack.position("TSLA") == 0
    orders = stack.api("/api/orders?symbol=TSLA").json()["orders"]
    assert sorted((o["leg"], o["quantity"]) for o in orders) == [("close", 5), ("entry", 5)]

    stack.alert(
        {"symbol": "TSLA", "action": "buy", "quantity": 3, "price": 200, "alert_id": "ts-l2"}
    )
    stack.wait_alert("ts-l2")
    racing = [
        {"symbol": "TSLA", "action": "reverse", "price": 200, "alert_id": "ts-r"},
        {"symbol": "TSLA", "action": "reverse", "price": 200, "alert_id": "ts-r2"},
    ]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda body: stack.alert(body).status_code, racing)) == [202] * 2
    stack.wait_alert("ts-r", timeout=30)
    stack.wait_alert("ts-r2", timeout=30)
    # Two reversals, one after the other: long 3 → short 3 → long 3, never 6 either way.
    assert stack.position("TSLA") == 3


def test_strategies_show_their_own_positions_over_http(stack: Stack) -> None:
    for strategy, size in (("trend", 3), ("swing", 2)):
        body = {
            "symbol": "AMZN",
            "action": "buy",
            "position_size": size,
            "strategy": strategy,
            "price": 180,
            "alert_id": f"st-{strategy}",
        }
        assert stack.alert(body).status_code == 202
        stack.wait_alert(f"st-{strategy}")
    close = {"symbol": "AMZN", "action": "close", "strategy": "trend", "alert_id": "st-close"}
    assert stack.alert({**close, "price": 181}).status_code == 202
    stack.wait_alert("st-close")
    views = stack.api("/api/positions").json()
    assert [(p["symbol"], p["quantity"]) for p in views["positions"] if p["symbol"] == "AMZN"] == [
        ("AMZN", 2)
    ]
    strategies = [
        (s["strategy"], s["quantity"]) for s in views["strategies"] if s["symbol"] == "AMZN"
    ]
    assert strategies == [("swing", 2)]


def test_text_alert_with_query_secret(stack: Stack) -> None:
    response = stack.session.post(
        stack.url + "/webhook/tradingview",
        params={"secret": SECRET},
        timeout=5,
        data=b"My strategy: order buy @ 3 filled on QQQ. New strategy position is 3",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 202
    stack.wait_alert(response.json()["alert_id"], status=("done", "rejected"))
    assert SECRET not in stack.log("web")


def test_no_secret_in_any_log(stack: Stack, tmp_path: Path) -> None:
    for name in ("web", "worker-a", "worker-b"):
        assert SECRET not in stack.log(name)


def test_concurrent_deliveries_of_one_alert_claim_once(stack: Stack) -> None:
    """W8: the same alert delivered by 12 connections at once: one 202, the rest duplicates."""
    body = {"symbol": "META", "action": "buy", "quantity": 1, "price": 600, "alert_id": "e2e-burst"}
    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(lambda _: stack.alert(body).status_code, range(12)))
    assert statuses == [200] * 11 + [202]
    stack.wait_alert("e2e-burst")
    assert len(stack.api("/api/orders?symbol=META").json()["orders"]) == 1


def test_cli_sends_an_alert(stack: Stack) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--url",
            stack.url,
            "send",
            "ORCL",
            "buy",
            "2",
            "--price",
            "120",
            "--alert-id",
            "e2e-cli",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("202") and '"alert_id": "e2e-cli"' in result.stdout
    stack.wait_alert("e2e-cli")
    assert stack.position("ORCL") == 2
