# The two commands of the README. Both provision what they need (Python
# dependencies, local PostgreSQL and Redis) on a fresh machine.
.PHONY: run test services services-down lint format bench

run:  ## run the service with demo data: web, Celery worker and beat
	scripts/run.sh

test:  ## lint, migrations check and the whole test suite (pytest args in ARGS)
	scripts/test.sh $(ARGS)

services:  ## start PostgreSQL and Redis and leave them running
	scripts/services.sh deps
	scripts/services.sh up

services-down:  ## stop the local PostgreSQL and Redis
	scripts/services.sh down

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
