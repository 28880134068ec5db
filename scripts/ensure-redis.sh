#!/usr/bin/env bash
# Make sure a Redis answers at REDIS_URL; start or install one if not.
set -euo pipefail
URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
PY="${VENV:-.venv}/bin/python"
ping() { "$PY" -c "import redis,sys; redis.Redis.from_url('$URL', socket_timeout=1, socket_connect_timeout=1).ping()" >/dev/null 2>&1; }
ping && exit 0

read -r HOST PORT < <("$PY" -c "from urllib.parse import urlparse; u=urlparse('$URL'); print(u.hostname or '127.0.0.1', u.port or 6379)")
case "$HOST" in
  127.*|localhost|::1) ;;
  *) echo "Redis at $URL does not answer and is not local; start it or set REDIS_URL." >&2; exit 1 ;;
esac

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing redis-server with apt-get..."
    (apt-get install -y -q redis-server >/dev/null 2>&1) || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }
  else
    echo "No Redis answers at $URL and redis-server is not installed." >&2
    echo "Install it (sudo apt-get install redis-server) or point REDIS_URL at a running Redis." >&2
    exit 1
  fi
fi

mkdir -p var/redis
echo "Starting redis-server on $HOST:$PORT (data in var/redis, log var/redis/redis.log)"
redis-server config/redis.conf --port "$PORT" --bind "$HOST" --dir "$PWD/var/redis" \
  --daemonize yes --pidfile "$PWD/var/redis/redis.pid" --logfile "$PWD/var/redis/redis.log"
for _ in $(seq 1 50); do ping && exit 0; sleep 0.1; done
echo "redis-server did not answer on $HOST:$PORT; see var/redis/redis.log" >&2
exit 1
