"""First-run secret generation: its own file, never over the caller's environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import config.secrets as secrets_module


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "var" / "secrets.env"
    monkeypatch.setattr(secrets_module, "SECRETS_FILE", path)
    monkeypatch.delenv("TRADINGVIEW_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("API_TOKEN", raising=False)
    return path


def test_generates_both_once_with_private_mode(secrets_file: Path) -> None:
    created = secrets_module.ensure_secrets()
    assert set(created) == {"TRADINGVIEW_WEBHOOK_SECRET", "API_TOKEN"}
    assert all(len(value) >= 24 for value in created.values())
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert secrets_module.ensure_secrets() == {}  # second run: nothing new
    assert all(value in secrets_file.read_text() for value in created.values())


def test_environment_values_are_not_written(
    secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", "from-the-environment")
    created = secrets_module.ensure_secrets()
    assert set(created) == {"TRADINGVIEW_WEBHOOK_SECRET"}
    assert "API_TOKEN" not in secrets_file.read_text()
