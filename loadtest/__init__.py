"""The load benchmark, as a user runs it (README, "Performance"):

- `locustfile.py`: the customers of `make bench`'s workloads (hot, spread,
  selloff, search, ceiling), run by Locust headless;
- `bench.py`: `make bench`, the driver: a private production-like stack per
  workload (the fault tests' harness, tests/faults/stack.py), the seeding,
  Locust in its own process, the figures, the CPU per request and the
  invariants afterwards; `make bench WORKLOAD=side-by-side` hands over to
- `side_by_side.py`: the project against the floor (../shared/perf), both
  loaded by `wrk` in alternating rounds, and their throughput ratio;
- `seed.py`: bulk test data for a stack (`python -m loadtest.seed`):
  inventory, customers with API tokens, overdue holds, a year of inventory;
- `expiry_bench.py`: `make bench-expiry`, the expiry sweep over 100,000
  overdue holds.
"""
