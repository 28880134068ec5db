"""Celery: the app (``tasks.celery_app``) and thin tasks that call ``trading``."""
