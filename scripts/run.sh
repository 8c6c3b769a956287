#!/usr/bin/env bash
# `make run`: provision, migrate, seed the demo data, then run the web server,
# a Celery worker and Celery beat together under honcho. Ctrl-C stops
# everything this script started, the local PostgreSQL and Redis included.
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
honcho start --procfile Procfile --port "$PORT"
