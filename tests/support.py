"""Helpers for tests that run real parts: free ports, polling, private Redis, databases,
and the whole stack (web + Celery workers) as subprocesses."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET = "test-webhook-secret"
TOKEN = "test-api-token-0001"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    check: Callable[[], T | None],
    timeout: float = 15.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout``.

    An exception from ``check`` counts as "not yet" (a process still starting refuses
    connections), but it is never swallowed: at the deadline the timeout is raised *from* the
    last exception, so a check that fails for a reason of its own shows that reason.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            last = check()
            error = None
            if last:
                return last
        except Exception as raised:  # noqa: BLE001 - kept and re-raised at the deadline
            error = raised
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    failure = AssertionError(f"timed out after {timeout}s waiting for {message}; last={last!r}")
    if error is not None:
        raise AssertionError(f"{failure}; the check last raised {error!r}") from error
    raise failure


class RedisServer:
    """A private redis-server on a free port, stopped by pid."""

    def __init__(
        self, directory: Path, *, appendonly: bool = False, extra: tuple[str, ...] = ()
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.appendonly = appendonly
        # More redis-server options (``--name value`` pairs); later ones win.
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--logfile",
            str(self.directory / "redis.log"),
            *self.extra,
        ]
        self.process = subprocess.Popen(args)
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        wait_for(client.ping, timeout=10, message=f"redis on {self.port}")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'ledger.db'}"


def migrate(database_url: str) -> None:
    """Migrate the ledger at ``database_url`` and the inbox derived from it (one file
    beside a SQLite ledger, the same database otherwise), as ``make migrate`` does."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "head")


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, or None when none answers."""
    import psycopg

    admin_dsn = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"tvb_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        yield None
        return
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        from trading.ledger.db import _databases

        for key, database in list(_databases.items()):
            if name in key[1]:
                database.dispose()
                del _databases[key]
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IBKR_", "OANDA_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        TRADINGVIEW_WEBHOOK_SECRET=SECRET,
        API_TOKEN=TOKEN,
        BROKER="paper",
        LOG_LEVEL="INFO",
        SWEEP_INTERVAL_SECONDS="1",
        # Stacks under test fire bursts on one symbol; the rate limits have tests of their own.
        RISK_MAX_ORDERS_PER_MINUTE="off",
        RISK_MAX_ORDERS_PER_MINUTE_PER_INSTRUMENT="off",
    )
    env.update(overrides)
    return env


class Stack:
    """The web + Celery worker(s) (+ beat) as real subprocesses over a private Redis."""

    def __init__(self, directory: Path, redis_url: str, database_url: str, **env: str) -> None:
        self.directory = directory
        self.port = free_port()
        self.env = base_env(
            REDIS_URL=redis_url, DATABASE_URL=database_url, PORT=str(self.port), **env
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_web(self, env: dict[str, str] | None = None) -> None:
        self._spawn(
            "web",
            [sys.executable, "-m", "app.serve"],
            {"BIND_HOST": "127.0.0.1", **(env or {})},
        )
        wait_for(
            lambda: self.session.get(self.url + "/health", timeout=1).ok,
            timeout=20,
            message="web to answer",
        )

    def start_worker(
        self, name: str = "worker", concurrency: int = 2, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = self.directory / f"{name}.log"
        offset = log.stat().st_size if log.exists() else 0
        process = self._spawn(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "tasks.celery_app",
                "worker",
                "--concurrency",
                str(concurrency),
                "--queues",
                "alerts",
                "--hostname",
                f"{name}-{self.port}@%h",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
            ],
            env,
        )
        wait_for(
            lambda: b"ready" in log.read_bytes()[offset:],
            timeout=30,
            message=f"{name} to be ready",
        )
        return process

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "tasks.celery_app",
                "beat",
                "--schedule",
                str(self.directory / "beat-schedule"),
                "--loglevel",
                "INFO",
            ],
        )

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- HTTP helpers ---------------------------------------------------------------

    def alert(
        self, body: dict[str, Any] | str | bytes, *, with_secret: bool = True, **kwargs: Any
    ) -> requests.Response:
        if isinstance(body, dict):
            payload = {"secret": SECRET, **body} if with_secret else body
            return self.session.post(
                self.url + "/webhook/tradingview", json=payload, timeout=5, **kwargs
            )
        return self.session.post(self.url + "/webhook/tradingview", data=body, timeout=5, **kwargs)

    def api(self, path: str, method: str = "GET") -> requests.Response:
        return self.session.request(
            method, self.url + path, timeout=5, headers={"Authorization": f"Bearer {TOKEN}"}
        )

    def alert_state(self, alert_id: str) -> dict[str, Any]:
        response = self.api(f"/api/alerts/{alert_id}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_alert(
        self, alert_id: str, status: str | tuple[str, ...] = "done", timeout: float = 20
    ) -> dict[str, Any]:
        wanted = (status,) if isinstance(status, str) else status

        def reached() -> dict[str, Any] | None:
            state = self.alert_state(alert_id)
            return state if state["status"] in wanted else None

        found: dict[str, Any] = wait_for(
            reached, timeout=timeout, message=f"alert {alert_id} to be {wanted}"
        )
        return found

    def position(self, symbol: str) -> float:
        positions = self.api("/api/account").json()["positions"]
        return next((float(p["quantity"]) for p in positions if p["symbol"] == symbol), 0.0)


def child_pids(pid: int) -> set[int]:
    """The direct children of ``pid`` (a Celery worker's pool processes)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return {int(child) for child in out.stdout.split()}


def process_gone(pid: int) -> bool:
    """Gone, or a zombie its parent has not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
