"""Alembic environment: migrates the ledger (DATABASE_URL, or the ``sqlalchemy.url``
option) and the webhook's inbox (INBOX_DATABASE_URL, or the URL derived from the
ledger's) with the same migrations. Both get every table; each uses its own part. When
the inbox is the ledger's own database (PostgreSQL) it is migrated once."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import context
from sqlalchemy import inspect

from config.settings import get_settings, inbox_url_for
from trading.ledger.db import get_database
from trading.ledger.inbox import adopt_ledger_claims
from trading.ledger.models import Base


def _urls() -> list[str]:
    given = context.config.get_main_option("sqlalchemy.url")
    if given:
        ledger, inbox = given, inbox_url_for(given)
    else:
        settings = get_settings()
        ledger, inbox = settings.database_url, settings.inbox_url
    return [ledger] if inbox == ledger else [ledger, inbox]


def run_migrations(url: str) -> None:
    database = get_database(url)
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=database.is_sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()


def adopt_claims(urls: list[str]) -> None:
    """Claims held by the ledger before the inbox existed move to the inbox (once)."""
    ledger, inbox = get_database(urls[0]), get_database(urls[-1])
    if all(inspect(d.engine).has_table("inbox") for d in (ledger, inbox)):
        adopt_ledger_claims(ledger, inbox, now=datetime.now(UTC))


urls = _urls()
for database_url in urls:
    run_migrations(database_url)
adopt_claims(urls)
