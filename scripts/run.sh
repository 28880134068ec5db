#!/usr/bin/env bash
# Run a Procfile with honcho in the foreground. When no Redis answers at REDIS_URL and it is
# local, a redis-server (config/redis.conf, data in var/redis) joins the Procfile, so that
# stopping honcho stops it too.
set -euo pipefail
PROCFILE="${1:-Procfile}"
VENV="${VENV:-.venv}"
# honcho hands PORT to the first process (the web) and picks 5000 when it is unset; the
# web serves on PORT or 3014, whatever the process manager would choose.
export PORT="${PORT:-3014}"
# Each process's lines show up as they are written, not when a buffer fills.
export PYTHONUNBUFFERED=1
# Every path a process writes to (the ledger, beat's schedule, Redis's data) must exist.
mkdir -p var/redis
status=0
bash scripts/ensure-redis.sh || status=$?
if [ "$status" = 3 ]; then
  read -r REDIS_HOST REDIS_PORT < <("$VENV/bin/python" -c "from urllib.parse import urlparse; import os; u=urlparse(os.environ.get('REDIS_URL','redis://127.0.0.1:6379/0')); print(u.hostname or '127.0.0.1', u.port or 6379)")
  echo "No Redis answers at ${REDIS_URL:-redis://127.0.0.1:6379/0}: starting one with the stack (data in var/redis)."
  # Appended last: honcho hands $PORT to the first process, which must stay the web.
  {
    cat "$PROCFILE"
    echo "redis: redis-server config/redis.conf --port $REDIS_PORT --bind $REDIS_HOST --dir $PWD/var/redis"
  } > var/Procfile.run
  PROCFILE=var/Procfile.run
elif [ "$status" != 0 ]; then
  exit "$status"
fi
echo "tvbridge: the web serves on http://127.0.0.1:${PORT} (webhook: /webhook/tradingview)"
exec "$VENV/bin/honcho" -f "$PROCFILE" -d . start
