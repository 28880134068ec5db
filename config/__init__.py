"""Process configuration: settings, logging, gunicorn and Redis config files."""
