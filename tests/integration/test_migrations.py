"""The migrations build exactly the tables the models declare, on SQLite and PostgreSQL:
a column added to a model without a migration (or the other way round) fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from trading.ledger.db import Database
from trading.ledger.models import Base


def test_the_migrated_schema_is_the_models_schema(database: Database) -> None:
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
