"""Alembic environment: the ledger's URL comes from DATABASE_URL via the settings."""

from __future__ import annotations

from alembic import context

from config.settings import get_settings
from trading.ledger.db import get_database
from trading.ledger.models import Base

url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations() -> None:
    database = get_database(url)
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=database.is_sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
