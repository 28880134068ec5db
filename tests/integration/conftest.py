"""The web app over a real ledger and a private Redis, driven by Flask's test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from config.settings import Settings


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    yield create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
