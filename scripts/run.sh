#!/usr/bin/env bash
# Run a Procfile with honcho in the foreground. When no Redis answers at REDIS_URL and it is
# local, a redis-server (config/redis.conf, data in var/redis) joins the Procfile, so that
# stopping honcho stops it too.
set -euo pipefail
PROCFILE="${1:-Procfile}"
VENV="${VENV:-.venv}"
status=0
bash scripts/ensure-redis.sh || status=$?
if [ "$status" = 3 ]; then
  read -r REDIS_HOST REDIS_PORT < <("$VENV/bin/python" -c "from urllib.parse import urlparse; import os; u=urlparse(os.environ.get('REDIS_URL','redis://127.0.0.1:6379/0')); print(u.hostname or '127.0.0.1', u.port or 6379)")
  mkdir -p var/redis
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
exec "$VENV/bin/honcho" -f "$PROCFILE" -d . start
