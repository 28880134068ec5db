"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py app.wsgi:app``).

Threads (gthread) so that slow API reads and server-sent events never pin the workers
that webhooks need. The access log records the path without its query string, so a
``?secret=`` never reaches a log.
"""

import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '3014')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# One control socket per machine would clash between several stacks (tests, staging).
control_socket_disable = True
