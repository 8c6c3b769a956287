# The two commands of the README. Both provision what they need (Python
# dependencies, local PostgreSQL and Redis) on a fresh machine.
.PHONY: run test services services-down lint format bench bench-expiry

run:  ## run the service with demo data: web, Celery worker and beat
	scripts/run.sh

test:  ## lint, migrations check and the whole test suite (pytest args in ARGS)
	scripts/test.sh $(ARGS)

services:  ## start PostgreSQL and Redis and leave them running
	scripts/services.sh deps
	scripts/services.sh up

services-down:  ## stop the local PostgreSQL and Redis
	scripts/services.sh down

# The load benchmark (README, "Performance"): WORKLOAD=hot|spread|selloff|search|ceiling|all
# (default all) or side-by-side (the project against ../shared/perf's floor, with wrk),
# DURATION seconds per workload (per round for side-by-side), USERS concurrent customers,
# WEB_WORKERS gunicorn processes, WORKER_CLASS gthread|sync, THREADS per worker,
# REDIS_LOCKS on|off, ROUNDS and WARMUP (seconds) for side-by-side; BENCH_ARGS passes
# anything else to loadtest.bench.
# VARIANT (side-by-side only): plain (default), payments (hold, pay, cancel), webhooks
# (hold, cancel, a signed sandbox webhook), seats-auto, seats-chosen (a 5,000-row 3-3 seat
# map), events (an endpoint, a receiver and the Celery workers; event-to-delivered p95).
# WORKLOAD=outbox: the catch-up of EVENTS pending events (default 100,000).
WORKLOAD ?= all
bench:  ## load benchmark on a private production-like stack; results in bench-results/
	scripts/services.sh deps
	.venv/bin/python -m loadtest.bench $(WORKLOAD) \
		$(if $(DURATION),--duration $(DURATION)) $(if $(USERS),--users $(USERS)) \
		$(if $(WEB_WORKERS),--web-workers $(WEB_WORKERS)) \
		$(if $(WORKER_CLASS),--worker-class $(WORKER_CLASS)) \
		$(if $(THREADS),--threads $(THREADS)) $(if $(REDIS_LOCKS),--redis-locks $(REDIS_LOCKS)) \
		$(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(WARMUP),--warmup $(WARMUP)) \
		$(if $(VARIANT),--variant $(VARIANT)) $(if $(EVENTS),--events $(EVENTS)) \
		$(BENCH_ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench-expiry:  ## the expiry sweep: 100,000 overdue holds, hold latency during the sweep
	scripts/services.sh deps
	scripts/services.sh up
	.venv/bin/python manage.py migrate --noinput
	.venv/bin/python -m loadtest.expiry_bench $(BENCH_ARGS)
