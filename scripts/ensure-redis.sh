#!/usr/bin/env bash
# Make sure redis-server is installed (install it with apt-get when root), and report
# whether a Redis answers at REDIS_URL: exit 0 if it answers, 3 if it does not but can be
# started locally, 1 if nothing can be done.
set -euo pipefail
URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
PY="${VENV:-.venv}/bin/python"
ping() { "$PY" -c "import redis,sys; redis.Redis.from_url('$URL', socket_timeout=1, socket_connect_timeout=1).ping()" >/dev/null 2>&1; }

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing redis-server with apt-get..."
    (apt-get install -y -q redis-server >/dev/null 2>&1) || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }
  elif ! ping; then
    echo "No Redis answers at $URL and redis-server is not installed." >&2
    echo "Install it (sudo apt-get install redis-server) or point REDIS_URL at a running Redis." >&2
    exit 1
  fi
fi
[ "${1:-}" = "--install-only" ] && exit 0
ping && exit 0

read -r HOST PORT < <("$PY" -c "from urllib.parse import urlparse; u=urlparse('$URL'); print(u.hostname or '127.0.0.1', u.port or 6379)")
case "$HOST" in
  127.*|localhost|::1) exit 3 ;;
  *) echo "Redis at $URL does not answer and is not local; start it or set REDIS_URL." >&2; exit 1 ;;
esac
