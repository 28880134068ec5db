"""C1 against ibsim: the worker child is SIGKILLed after its placeOrder reached IB and before
it had the answer. Celery acks the lost task; the sweeper resumes the alert, which must find
the order by reference: one place_order request from the workers, one order at ibsim."""

from __future__ import annotations

import os
import signal

from tests.gateway.support import IbStack
from tests.support import child_pids, process_gone, wait_for

# The sweeper resumes a dead worker's alert after 3 s; one pool child to kill; liveness
# probes that outwait IB's late answers, so the delay is not taken for a dead socket; reads
# that outwait them too, since the worker reads the position before it places.
STACK_ENV = {
    "STUCK_AFTER_SECONDS": "3",
    "SWEEP_INTERVAL_SECONDS": "1",
    "IBKR_PROBE_TIMEOUT_SECONDS": "10",
    "IBKR_RPC_TIMEOUT_SECONDS": "8",
}
WORKERS = 1


def test_c1_worker_child_killed_after_place_order_is_not_placed_again(ib_stack: IbStack) -> None:
    reference = "tvb.ib-c1.entry"
    worker = ib_stack.processes["worker"]
    ib_stack.wait_serving()
    ib_stack.broker().resolve_contract("IBM")  # cached: only the order's answer is late
    ib_stack.sim.fault("delay", seconds=3)  # IB's answers are late; the order itself is not
    try:
        body = {"symbol": "IBM", "action": "buy", "quantity": 1, "alert_id": "ib-c1"}
        assert ib_stack.alert(body).status_code == 202
        wait_for(lambda: ib_stack.sim.orders(reference), timeout=15, message="the order at IB")
        in_flight = ib_stack.alert_state("ib-c1")
        assert in_flight["orders"][0]["status"] == "submitting", in_flight
        [child] = child_pids(worker.pid)
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: process_gone(child), timeout=10, message=f"child {child} to die")
        wait_for(
            lambda: child_pids(worker.pid) - {child}, timeout=20, message="a replacement child"
        )
    finally:
        ib_stack.sim.fault("clear")
    ib_stack.wait_alert("ib-c1", timeout=40)

    def filled() -> bool:
        # The fill reaches the ledger through the order events, possibly after the alert
        # is done with the order submitted.
        return bool(ib_stack.alert_state("ib-c1")["orders"][0]["status"] == "filled")

    wait_for(filled, timeout=10, message="the fill in the ledger")
    assert worker.poll() is None
    assert ib_stack.placements(reference) == 1, "the resumed alert sent place_order again"
    assert len(ib_stack.sim.orders(reference)) == 1
