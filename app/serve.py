"""The web process: ``python -m app.serve [module:attribute]`` (default ``app.wsgi:app``).

waitress reads each request whole (headers, then a body bounded by ``WEB_BODY_LIMIT``) on
its event loop, and only a complete request takes one of the application threads. So
connections that sit idle, or trickle a byte at a time, cost a file descriptor and never
an application thread: webhooks keep their latency with hundreds of them open. Malformed
framing (a bad chunk size, a missing terminator) is answered 400 by the server before the
application sees it.

SIGTERM (honcho, systemd) stops accepting, lets the requests in flight finish for a few
seconds, then exits.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
from types import FrameType
from typing import Any

from waitress.server import create_server

from config.settings import ConfigError, Settings, get_settings

DEFAULT_APP = "app.wsgi:app"
log = logging.getLogger("tvbridge.web")


def server_options(settings: Settings) -> dict[str, Any]:
    """waitress's adjustments, from the settings."""
    return {
        "host": settings.bind_host,
        "port": settings.port,
        "threads": settings.web_threads,
        "connection_limit": settings.web_connection_limit,
        # select() cannot watch more than 1024 descriptors; poll() can.
        "asyncore_use_poll": True,
        "channel_timeout": settings.web_idle_timeout_seconds,
        "cleanup_interval": max(1, min(30, settings.web_idle_timeout_seconds // 2)),
        # Bodies up to this size reach the webhook, which answers anything over
        # MAX_BODY_BYTES with its own explained (and recorded) 413; larger ones are cut
        # off by the server itself, chunked or not.
        "max_request_body_size": settings.web_body_limit,
        "max_request_header_size": 16384,
        # The webhook decides which X-Forwarded-For to believe (TRUSTED_PROXIES);
        # waitress must hand the header over untouched.
        "clear_untrusted_proxy_headers": False,
        "ident": "tvbridge",
        "expose_tracebacks": False,
    }


def load_application(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "app")


def _stop(signum: int, _frame: FrameType | None) -> None:
    # waitress's run loop turns SystemExit into a graceful shutdown of its threads.
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    spec = argv[1] if len(argv) > 1 else DEFAULT_APP
    try:
        settings = get_settings()
        application = load_application(spec)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    server = create_server(application, **server_options(settings))
    signal.signal(signal.SIGTERM, _stop)
    everywhere = settings.bind_host in ("0.0.0.0", "::")  # noqa: S104
    local = "127.0.0.1" if everywhere else settings.bind_host
    log.warning(
        "web serving %s on %s:%d (http://%s:%d)",
        spec,
        settings.bind_host,
        settings.port,
        local,
        settings.port,
    )
    try:
        server.run()
    finally:
        log.warning("web stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
