"""The README's quick start, as a new user runs it: a fresh copy of the project, nothing in
the environment, ``make run``, the printed curl alert, then SIGTERM to ``make``.

The copy shares this checkout's virtualenv (installing packages again would only measure
the package index). No Redis answers at the address it is given, so ``make run`` starts
its own, as on a machine without one. The web must be on 3014, so these tests need that
port free."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import ROOT, free_port, wait_for

README_PORT = 3014
README_ALERT = {"symbol": "AAPL", "action": "buy", "quantity": 1, "price": 150}
NOT_A_USERS = ("PORT", "DATABASE_URL", "TRADINGVIEW_WEBHOOK_SECRET", "API_TOKEN", "BROKER")


def fresh_copy(destination: Path) -> Path:
    """The project's files as a clone has them (tracked, or new and not ignored), with
    their times kept so make sees the shared virtualenv as up to date."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")
    return destination


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class MakeRun:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.output = directory / "make-run.log"
        with open(self.output, "wb") as log:
            self.process = subprocess.Popen(
                ["make", "run"],
                cwd=directory,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def processes(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-s", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.processes():
            os.kill(pid, signal.SIGKILL)


def users_environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in NOT_A_USERS
        and not key.startswith(("IBKR_", "OANDA_", "REDIS_", "PYTHON", "WEB_", "VIRTUAL_ENV"))
    }
    # Nothing answers here, as on a machine without a Redis: make run starts one.
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    env.update(extra)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    if not port_is_free(README_PORT):
        pytest.fail(f"port {README_PORT} is taken: stop whatever serves on it and run again")
    yield fresh_copy(tmp_path / "tvbridge")


def _wait_serving(run: MakeRun) -> None:
    def answering() -> bool:
        assert run.process.poll() is None, f"make run exited:\n{run.text()[-3000:]}"
        try:
            return requests.get(f"http://127.0.0.1:{README_PORT}/health", timeout=1).ok
        except requests.ConnectionError:
            return False

    wait_for(answering, timeout=120, interval=0.2, message=f"the web on {README_PORT}")


def _trade_the_readme_alert(secret: str, token: str) -> None:
    base = f"http://127.0.0.1:{README_PORT}"
    answer = requests.post(
        f"{base}/webhook/tradingview",
        data=json.dumps({"secret": secret, **README_ALERT}),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 202, answer.text

    def position() -> list[dict[str, object]]:
        account = requests.get(
            f"{base}/api/account", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()
        return [p for p in account["positions"] if p["symbol"] == "AAPL"]

    held = wait_for(position, timeout=30, message="the AAPL position")
    assert held[0]["quantity"] == 1


def _generated(project: Path) -> dict[str, str]:
    lines = (project / "var" / "secrets.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_make_run_with_nothing_set_serves_on_3014_and_trades_the_readme_alert(
    project: Path,
) -> None:
    run = MakeRun(project, users_environment())
    try:
        _wait_serving(run)
        assert f"http://127.0.0.1:{README_PORT}" in run.text()
        generated = _generated(project)
        _trade_the_readme_alert(generated["TRADINGVIEW_WEBHOOK_SECRET"], generated["API_TOKEN"])
        started = run.processes()
        assert len(started) >= 7  # make, honcho, web, worker, beat, flower, gateway, ...
    finally:
        run.process.send_signal(signal.SIGTERM)
        stopped = run.process.wait(timeout=40)
        try:
            wait_for(lambda: run.processes() == [], timeout=20, message="every process to stop")
        finally:
            leftover = subprocess.run(
                ["ps", "-o", "pid,args", "-s", str(run.process.pid)], capture_output=True, text=True
            ).stdout
            run.stop()
    assert stopped is not None, leftover
    assert port_is_free(README_PORT)


def test_make_run_with_both_secrets_set_and_no_var_keeps_every_process_up(
    project: Path,
) -> None:
    env = users_environment(
        TRADINGVIEW_WEBHOOK_SECRET="a-secret-the-user-chose", API_TOKEN="a-token-the-user-chose"
    )
    run = MakeRun(project, env)
    try:
        _wait_serving(run)
        wait_for(lambda: "celery beat v" in run.text(), timeout=60, message="beat to start")
        _trade_the_readme_alert("a-secret-the-user-chose", "a-token-the-user-chose")
        # honcho stops the whole stack when any one process exits: still up means beat is.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert run.process.poll() is None, run.text()[-3000:]
            time.sleep(0.2)
        assert "exited with code" not in run.text()
        assert not (project / "var" / "secrets.env").exists()
    finally:
        run.stop()
