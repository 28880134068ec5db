"""The WSGI application of the web process (served by ``python -m app.serve``)."""

from app import create_app

app = create_app()
