"""Shared fixtures: a private Redis per session, fresh ledgers, the settings for tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings, load_settings
from tests.support import SECRET, TOKEN, RedisServer, migrate, postgres_database, sqlite_url
from trading.ledger.db import Database, get_database


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    url = sqlite_url(tmp_path)
    migrate(url)
    return get_database(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        if url is None:
            pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The ledger on SQLite, and on PostgreSQL when one answers."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        migrate(url)
        yield get_database(url)
        return
    with postgres_database() as url:
        if url is None:
            pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
        migrate(url)
        yield get_database(url)


@pytest.fixture
def settings(tmp_path: Path, redis_server: RedisServer) -> Settings:
    url = sqlite_url(tmp_path)
    migrate(url)
    return load_settings(
        database_url=url,
        redis_url=redis_server.url,
        tradingview_webhook_secret=SECRET,
        api_token=TOKEN,
    )
