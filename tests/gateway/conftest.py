"""Fixtures for the IB gateway: ibsim as a subprocess, a private Redis, the whole stack
(the web, a Celery worker, beat, the gateway, the order-events consumer) as real processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.support import FAST_GATEWAY, IbSim, IbStack
from tests.support import RedisServer, migrate, sqlite_url

__all__ = ["IbStack"]


@pytest.fixture(scope="module")
def ib_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[IbStack]:
    """One stack per module; a module may set ``STACK_ENV`` to change its settings."""
    directory = tmp_path_factory.mktemp("ibstack")
    url = sqlite_url(directory)
    migrate(url)
    redis_server = RedisServer(directory / "redis").start()
    sim = IbSim(directory).start()
    stack = IbStack(
        directory,
        redis_server.url,
        url,
        BROKER="ibkr",
        IBKR_PORT=str(sim.port),
        **{**FAST_GATEWAY, **getattr(request.module, "STACK_ENV", {})},
    )
    stack.sim, stack.redis = sim, redis_server
    try:
        stack.start_events()
        stack.start_gateway()
        stack.start_web()
        stack.start_worker("worker", concurrency=getattr(request.module, "WORKERS", 2))
        # The sweeper records alerts whose last Celery retry was discarded at their expiry.
        stack.start_beat()
        stack.wait_serving()
        yield stack
    finally:
        stack.stop_all()
        sim.stop()
        redis_server.stop()


@pytest.fixture(scope="module")
def ib_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IbStack]:
    """IB's side alone: a private Redis, ibsim and the gateway, for the broker client against
    the gateway. No web, worker or ledger consumer (the gateway waits for the ledger only
    briefly after reconciling), so these tests depend on nothing above the broker port."""
    directory = tmp_path_factory.mktemp("ibgateway")
    redis_server = RedisServer(directory / "redis").start()
    sim = IbSim(directory).start()
    stack = IbStack(
        directory,
        redis_server.url,
        sqlite_url(directory),
        BROKER="ibkr",
        IBKR_PORT=str(sim.port),
        **{**FAST_GATEWAY, "IBKR_LEDGER_SYNC_WAIT_SECONDS": "0.2"},
    )
    stack.sim, stack.redis = sim, redis_server
    try:
        stack.start_gateway()
        stack.wait_serving()
        yield stack
    finally:
        stack.stop_all()
        sim.stop()
        redis_server.stop()


@pytest.fixture(autouse=True)
def show_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    for fixture in ("ib_stack", "ib_gateway"):
        if fixture not in request.fixturenames:
            continue
        stack: IbStack = request.getfixturevalue(fixture)
        for name in ("gateway", "events", "worker", "web"):
            if name in stack.processes or stack.log(name):
                print(f"--- {name} log ---\n{stack.log(name)[-4000:]}")
        print(f"--- ibsim log ---\n{(stack.directory / 'ibsim.log').read_text()[-2000:]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, "rep_" + report.when, report)
