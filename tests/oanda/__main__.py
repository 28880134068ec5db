"""Serve the OANDA stand-in on its own, to run the stack against it by hand:

    .venv/bin/python -m tests.oanda --port 8089 --token demo-token --account 101-004-1234567-001

then start tvbridge with BROKER=oanda OANDA_URL=http://127.0.0.1:8089 OANDA_API_TOKEN=demo-token
OANDA_ACCOUNT_ID=101-004-1234567-001. Stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from tests.oanda.standin import OandaStandIn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.oanda", description=__doc__)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--account", default="101-004-1234567-001")
    args = parser.parse_args()
    server = OandaStandIn(args.token, args.account).start(port=args.port)
    print(f"OANDA stand-in on {server.url} (account {args.account})", flush=True)
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
