"""A production-like stack on private loopback ports, a bounded HTTP load and
the checks that nothing was oversold or left half-changed. The fault tests
(tests/faults/) and the load benchmark (`make bench`) are built on it.

    from loadtest.invariants import check_database
    from loadtest.stack import Stack
    from loadtest.traffic import Traffic

    with Stack(web_workers=2, celery_worker=True) as stack:
        inventory = stack.seed_inventory(cabins=[5000, 20], room_types=[300])
        customers = stack.seed_customers(12)
        with Traffic(stack.base_url, customers, inventory.items(), threads=6,
                     duration=20) as traffic:
            traffic.wait_for(lambda: traffic.count() >= 50, timeout=10)
            stack.stop_redis()
            ...
        assert check_database(stack.database_url) == []
        print(traffic.summary())

- `stack`: its own PostgreSQL and Redis (started by scripts/services.sh in a
  temp dir), `migrate`, gunicorn with the production settings, optionally a
  Celery worker and beat; methods to stop, start, restart and kill each part.
  Everything it started is stopped when the `with` block ends, however it ends.
- `seed`: test inventory, customers with API tokens and overdue holds, made
  with bulk ORM calls in a subprocess configured like the stack
  (`python -m loadtest.seed`).
- `traffic`: threads acting as customers (hold, confirm, cancel, list) with a
  fixed duration and request cap; every answer is recorded and judged against
  the HTTP contract (API.md, Errors).
- `invariants`: SQL over the stack's database: counters add up, counters match
  the bookings, no booking half-changed.
- `bench` and `locustfile`: `make bench`, the load benchmark: a stack per
  workload (hot, spread, selloff, search), Locust headless in its own process,
  the figures, the CPU per request and the invariants afterwards
  (README, "Performance").
- `tasks`: a stand-in Celery task for the expiry sweep, used only while
  `bookings.tasks.expire_holds` does not exist.
"""
