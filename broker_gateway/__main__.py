"""``python -m broker_gateway``: the one process that holds the IB socket.

With ``BROKER`` other than ``ibkr`` it idles quietly (honcho stops every process when one
exits, so it must stay up); otherwise it connects and reconnects forever.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from broker_gateway.app import run_gateway
from config.logging import configure_logging
from config.settings import get_settings

log = logging.getLogger("broker_gateway")


def idle_until_stopped(reason: str) -> None:
    """Stay up doing nothing until SIGTERM/SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("%s; idling", reason)
    stop.wait()


def main() -> None:
    settings = get_settings()
    configure_logging(
        environment=settings.environment,
        level=settings.log_level,
        secrets=settings.secret_values(),
    )
    # ib_async logs every message at INFO; keep its chatter at WARNING unless debugging.
    if settings.log_level != "DEBUG":
        logging.getLogger("ib_async").setLevel(logging.WARNING)
    if settings.broker != "ibkr":
        idle_until_stopped(f"BROKER={settings.broker}: the IB gateway is not needed")
        return
    asyncio.run(run_gateway(settings))


if __name__ == "__main__":
    main()
