"""``python -m ibsim``: run the simulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from ibsim.pacing import DEFAULT_BURST, DEFAULT_RATE
from ibsim.server import IBSim
from ibsim.wire import DEFAULT_SERVER_VERSION, MAX_SERVER_VERSION, MIN_SERVER_VERSION


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ibsim",
        description="A simulated IB Gateway speaking the TWS API, with an admin HTTP API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="API listen address")
    parser.add_argument("--port", type=int, default=7497, help="TWS API port (0: any free)")
    parser.add_argument(
        "--admin-port", type=int, default=7498, help="admin HTTP port (0: any free, -1: none)"
    )
    parser.add_argument(
        "--server-version",
        type=int,
        default=DEFAULT_SERVER_VERSION,
        choices=range(MIN_SERVER_VERSION, MAX_SERVER_VERSION + 1),
        metavar=f"{{{MIN_SERVER_VERSION}..{MAX_SERVER_VERSION}}}",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and realism")
    parser.add_argument("--state", type=Path, help="persist state in this JSON file")
    parser.add_argument("--realism", action="store_true", help="IB's messier message order")
    parser.add_argument(
        "--account", action="append", dest="accounts", help="managed account (repeatable)"
    )
    parser.add_argument("--cash", type=float, default=1_000_000.0, help="starting cash")
    parser.add_argument("--max-fill-qty", type=float, help="partial fills of at most this size")
    parser.add_argument(
        "--pacing-rate", type=float, default=DEFAULT_RATE, help="messages/s per client"
    )
    parser.add_argument(
        "--pacing-burst", type=float, default=DEFAULT_BURST, help="token bucket depth"
    )
    parser.add_argument("--pacing-disconnect", action="store_true")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs every message")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    sim = IBSim(
        host=args.host,
        port=args.port,
        admin_port=args.admin_port if args.admin_port >= 0 else None,
        server_version=args.server_version,
        seed=args.seed,
        state_file=args.state,
        realism=args.realism,
        accounts=tuple(args.accounts or ("DU1234567",)),
        starting_cash=args.cash,
        max_fill_qty=args.max_fill_qty,
        pacing_rate=args.pacing_rate,
        pacing_burst=args.pacing_burst,
        pacing_disconnect=args.pacing_disconnect,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with sim:
        admin = sim.admin_port if args.admin_port >= 0 else "none"
        print(f"ibsim ready: api port {sim.port}, admin port {admin}", flush=True)
        await stop.wait()
    logging.getLogger("ibsim").info("stopped")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
