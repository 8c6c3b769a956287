#!/usr/bin/env bash
# `make test`: the same provisioning as `make run`, then lint, the migrations
# check and the whole test suite on real PostgreSQL and Redis. Arguments go to
# pytest. Servers this script started are stopped when it ends.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh deps
scripts/services.sh browser
state="$(mktemp)"
trap 'scripts/services.sh down "$state"; rm -f "$state"' EXIT
scripts/services.sh up "$state"
# A hot standby of that PostgreSQL for tests/config/test_replicas.py; it stays
# out of the environment's DATABASE_REPLICA_URLS, which the processes tests
# start would inherit. With DATABASE_URL elsewhere, bring your own standby.
if [ -z "${DATABASE_URL:-}" ] && [ -z "${TEST_DATABASE_REPLICA_URLS:-}" ]; then
    TEST_DATABASE_REPLICA_URLS="$(scripts/services.sh replica "$state")"
    export TEST_DATABASE_REPLICA_URLS
fi

export PATH="$PWD/.venv/bin:$PATH"
echo "==> ruff"
ruff check .
ruff format --check .
echo "==> missing migrations"
DJANGO_SETTINGS_MODULE=config.settings.test python manage.py makemigrations --check --dry-run
echo "==> pytest, with line coverage of the apps (pyproject.toml, [tool.coverage])"
pytest --cov --cov-report=term "$@"
