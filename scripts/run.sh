#!/usr/bin/env bash
# `make run`: provision, migrate, seed the demo data, then run the web server,
# a Celery worker and Celery beat together under honcho. PostgreSQL and Redis
# run apart from them: honcho stops all three when one of them dies, and this
# script then starts them again, so a crashed worker never takes the database
# down. Ctrl-C (or SIGTERM) stops everything this script started, the local
# PostgreSQL and Redis included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh deps
state="$(mktemp)"
# Prometheus multiprocess mode: every gunicorn worker and Celery process writes
# its figures here and /metrics adds them up (config/metrics.py). Empty each run.
PROMETHEUS_MULTIPROC_DIR="$(mktemp -d)"
export PROMETHEUS_MULTIPROC_DIR
trap 'scripts/services.sh down "$state"; rm -f "$state"; rm -rf "$PROMETHEUS_MULTIPROC_DIR"' EXIT
scripts/services.sh up "$state"

export PATH="$PWD/.venv/bin:$PATH"
export PORT="${PORT:-8000}"
python manage.py migrate --noinput
python manage.py seed_demo

cat <<MSG

  API docs     http://127.0.0.1:$PORT/api/docs/
  API          http://127.0.0.1:$PORT/api/v1/flights/
  Admin        http://127.0.0.1:$PORT/admin/
  Dashboard    http://127.0.0.1:$PORT/admin/dashboard/
  Health       http://127.0.0.1:$PORT/healthz  /readyz  /metrics

  The demo logins are printed above by seed_demo. Ctrl-C stops everything.

MSG
# honcho runs in the background so that a SIGTERM to this script reaches it
# too; the INT/TERM trap stops it and ends the loop, then the EXIT trap stops
# the data services.
stopping=0
honcho_pid=
trap 'stopping=1; [ -z "$honcho_pid" ] || kill -TERM "$honcho_pid" 2>/dev/null || true' INT TERM
while :; do
    honcho start --procfile Procfile --port "$PORT" &
    honcho_pid=$!
    while kill -0 "$honcho_pid" 2>/dev/null; do wait "$honcho_pid" || true; done
    [ "$stopping" -eq 1 ] && break
    echo "==> an app process ended; starting web, worker and beat again (Ctrl-C stops)" >&2
    sleep 2
done
