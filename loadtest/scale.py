"""`make bench WORKLOAD=scale`: how the cost of reading grows with the data
(README, "Scale").

    python -m loadtest.bench scale [--sizes 0.01,0.1,1] [--samples 200]

For each size (a fraction of `seed_scale`'s full size: a year of 1,000 routes
and 2,000 hotels, a million past bookings, 100,000 overdue holds), a private
production-like stack (the one `make bench` uses, gunicorn with the
production settings) is loaded with `manage.py seed_scale`, then each
operation is timed one request at a time, so the figures are latencies, not
queueing:

- flight search (origin, destination, date) and hotel search (city, 3 nights,
  2 rooms) through the API, with a cold cache: the stack's Redis cache is
  emptied before each one (`cold_cache`, the one hook to change if search
  answers come to be cached elsewhere); then one query repeated without
  emptying it, whose throughput against the cold one shows what a warm cache
  buys (that query's pages are warm in PostgreSQL too: above 1x even with no
  search cache). One request at a time from Python, that ratio counts the
  client's own CPU (requests: about 1 ms a request, on the same cores) as
  much as a cache hit's, so `wrk` (C) measures it again when it is installed
  (`scripts/services.sh wrk`): as many connections as web workers, for
  WRK_SECONDS each, every request a query drawn at random (cold: nearly all
  misses; hotels also vary `rooms` so that a small size has enough distinct
  queries) or the one query (warm), keys `wrk_*`;
- a customer's booking list through the API (its token);
- the admin's booking, cabin and room-night changelists, as a logged-in
  superuser over HTTP (the same gunicorn as the API);
- `reconcile_inventory`'s check, and one expiry sweep of the overdue holds,
  timed inside a `manage.py shell` on the stack (no HTTP in front of them);
  the sweep with its CPU split (its Python process against its PostgreSQL
  backend) and what ran beside it in PostgreSQL (autovacuum workers sampled
  from `pg_stat_activity`, checkpoints), so that a slow sweep says why;
- at the largest size (`--no-hold-path` skips it), the hold path with that
  data loaded: `loadtest/side_by_side.py`'s hold+cancel against the floor,
  with wrk, on this stack (one cabin added to the loaded data, the floor in
  its own database on the same PostgreSQL), its project/floor ratio to read
  against a plain `make bench WORKLOAD=side-by-side`'s.

Before any timing the data is settled, as a running service's is, not a
fresh bulk load's: `seed_scale` ends with `VACUUM (ANALYZE)` of what it
loaded (`bookings/scale_seed.settle` says why there), then `settle` here
waits until no autovacuum worker is at work on those tables and runs a
CHECKPOINT. Two full-size sweeps timed right after the load took 48 s and
99 s; each size's JSON says how long settling took (`settle`) and
`load_seconds` is the load without its VACUUM.

It writes bench-results/scale.json (the table) and docs/scale.png (p95
against the data size, log-log, one line per operation). Figures are
reported, never enforced; the exit status is 1 only when an answer was not a
200 (or the hold path's 201 and 200) or an invariant broke afterwards.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import redis
import requests

from loadtest import side_by_side
from loadtest.machine import cpu_probe_ms, load_average
from tests.faults.checks import check_stack
from tests.faults.stack import ROOT, Stack

RESULTS = ROOT / "bench-results"
CHART = ROOT / "docs" / "scale.png"
DEFAULT_SIZES = (0.01, 0.1, 1.0)
FULL_OVERDUE_HOLDS = 100_000
STAFF = ("scale-staff", "scale-staff-password-1")
ADMIN_PAGES = {
    "admin_bookings": "/admin/bookings/booking/",
    "admin_cabins": "/admin/flights/flightinventory/",
    "admin_room_nights": "/admin/hotels/roomnight/",
}
# The side-by-side's: no throttling, and the hold path's customers may leave
# holds behind between wrk runs (reads are not affected).
STACK_SETTINGS = side_by_side.STACK_SETTINGS
SETTLE_TIMEOUT_S = 900  # autovacuum on the full size's largest table, with room
# What the issue asks at the full size (reported, not enforced).
TARGETS_MS = {
    "flight_search": 30,
    "hotel_search": 50,
    "admin_bookings": 1000,
    "admin_cabins": 1000,
    "admin_room_nights": 1000,
    "expiry_sweep": 60_000,
}


def percentile_ms(values: list[float], p: float) -> float | None:
    from loadtest.bench import percentile

    return percentile(values, p)


def summary_of(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50_ms": percentile_ms(values, 50),
        "p95_ms": percentile_ms(values, 95),
        "max_ms": round(max(values) * 1000, 1) if values else None,
        "mean_ms": round(sum(values) / len(values) * 1000, 2) if values else None,
    }


# --- the hooks ------------------------------------------------------------------------------


def cold_cache(stack: Stack) -> None:
    """Empty the stack's cache, so the next search is answered by PostgreSQL.
    Flushing the whole cache database also drops any search-answer cache kept
    in it, whatever its keys or versions."""
    redis.Redis.from_url(stack.redis_url).flushdb()


def collect_static(stack: Stack) -> None:
    """The admin's pages need the static files' manifest of the production
    settings, as a deployment builds it; before gunicorn starts, which reads
    it once. The first stack's serves the others (same checkout)."""
    stack.manage("collectstatic", "--noinput", timeout=600)


# --- loading --------------------------------------------------------------------------------


def load(stack: Stack, fraction: float) -> dict:
    holds = max(1, round(FULL_OVERDUE_HOLDS * fraction))
    started = time.monotonic()
    result = stack.manage(
        "seed_scale",
        "--fraction",
        str(fraction),
        "--overdue-holds",
        str(holds),
        "--json",
        timeout=7200,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    # Without its VACUUM (ANALYZE), which `settle` in the report counts.
    elapsed = time.monotonic() - started - loaded["settled"]["seconds"]
    loaded["load_seconds"] = round(elapsed, 1)
    (token,), _ = stack.seed_batch(
        [
            ("tokens", {"usernames": [loaded["customers"][0]]}),
            ("superuser", {"username": STAFF[0], "password": STAFF[1]}),
        ]
    )
    loaded["token"] = token
    return loaded


# --- settling -------------------------------------------------------------------------------

# pg_stat_activity's query of an autovacuum worker: "autovacuum: VACUUM ANALYZE
# public.bookings_booking", "autovacuum: ANALYZE public.x (to prevent wraparound)".
_AUTOVACUUM = re.compile(r"^autovacuum: (?P<what>[A-Z][A-Z ]*) (?P<relation>\S+)")


def autovacuum_workers(conn: psycopg.Connection, tables: list[str] | None = None) -> list[dict]:
    """The autovacuum workers at work in `conn`'s database, on one of
    `tables` (None: on any table), as {pid, what, table, seconds}."""
    rows = conn.execute(
        "SELECT pid, query, extract(epoch FROM now() - xact_start)::float"
        " FROM pg_stat_activity"
        " WHERE backend_type = 'autovacuum worker' AND datname = current_database()"
    ).fetchall()
    workers = []
    for pid, query, seconds in rows:
        what, table = autovacuum_target(query)
        if tables is None or table in tables:
            workers.append(
                {"pid": pid, "what": what, "table": table, "seconds": round(seconds or 0.0, 1)}
            )
    return workers


def autovacuum_target(query: str | None) -> tuple[str, str | None]:
    """(what, table) from an autovacuum worker's query text; a text of
    another shape (a worker between tables shows none) as it is, no table."""
    found = _AUTOVACUUM.match(query or "")
    if found is None:
        return query or "", None
    return found["what"], found["relation"].rsplit(".", 1)[-1].strip('"')


def wait_for_quiet(
    busy: Callable[[], list[dict]], *, timeout: float, interval: float = 1.0
) -> dict:
    """Ask `busy` every `interval` s until it answers nothing or `timeout`
    has passed: how long that took, what it saw (each worker's table and
    what it did), and whether it gave up."""
    started = time.monotonic()
    seen: dict[tuple, None] = {}
    while True:
        found = busy()
        seen.update({(worker["table"], worker["what"]): None for worker in found})
        waited = time.monotonic() - started
        if not found or waited >= timeout:
            return {
                "seconds": round(waited, 1),
                "timed_out": bool(found),
                "seen": [{"table": table, "what": what} for table, what in seen],
            }
        time.sleep(interval)


def settle(
    database_url: str, tables: list[str] | None, *, timeout: float = SETTLE_TIMEOUT_S
) -> dict:
    """Bring the loaded database to a running service's steady state before
    anything is timed; the load has vacuumed it (bookings/scale_seed.settle).
    First wait until no autovacuum worker is at work on `tables` (None: on
    any table): one that started on a fresh table before the load's VACUUM,
    or one after the sweep's updates. Then a CHECKPOINT, last, so that the
    pages the VACUUM and any autovacuum dirtied are written now, not by the
    checkpointer during the first timings. Returns how long each took."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        autovacuum = wait_for_quiet(lambda: autovacuum_workers(conn, tables), timeout=timeout)
        started = time.monotonic()
        conn.execute("CHECKPOINT")
        checkpoint = round(time.monotonic() - started, 1)
    return {"autovacuum_wait": autovacuum, "checkpoint_seconds": checkpoint}


def checkpoints(conn: psycopg.Connection) -> dict[str, int]:
    """The checkpoints PostgreSQL has done, timed and requested (PostgreSQL
    17 moved them from pg_stat_bgwriter to pg_stat_checkpointer)."""
    if conn.info.server_version >= 170000:
        query = "SELECT num_timed, num_requested FROM pg_stat_checkpointer"
    else:
        query = "SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter"
    timed, requested = conn.execute(query).fetchone()
    return {"timed": timed, "requested": requested}


class Beside:
    """What PostgreSQL does beside a timed block: its autovacuum workers
    (sampled every `interval` s from another connection, in a thread) and
    the checkpoints it completed. The figures a slow run explains itself
    with."""

    def __init__(self, database_url: str, *, interval: float = 0.5):
        self.database_url = database_url
        self.interval = interval
        self.samples = 0
        self.busy_samples = 0
        self.workers: dict[tuple, float] = {}
        self._stop = threading.Event()

    def __enter__(self) -> Beside:
        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._checkpoints = checkpoints(self._conn)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        after = checkpoints(self._conn)
        self.checkpoints = {kind: after[kind] - self._checkpoints[kind] for kind in after}
        self._conn.close()

    def _sample(self) -> None:
        while True:
            found = autovacuum_workers(self._conn)
            self.samples += 1
            self.busy_samples += bool(found)
            for worker in found:
                key = (worker["table"], worker["what"])
                self.workers[key] = max(self.workers.get(key, 0.0), worker["seconds"])
            if self._stop.wait(self.interval):
                return

    def report(self) -> dict:
        return {
            "samples": self.samples,
            "autovacuum_share": round(self.busy_samples / self.samples, 2) if self.samples else 0,
            "autovacuum": [
                {"table": table, "what": what, "longest_s": seconds}
                for (table, what), seconds in self.workers.items()
            ],
            "checkpoints": self.checkpoints,
        }


# --- timing -----------------------------------------------------------------------------------


class Timer:
    """One request at a time against the stack; every answer must be a 200."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.http = requests.Session()
        self.failures: list[str] = []

    def get(self, path: str, *, before=None, **headers) -> float:
        if before:
            before()
        started = time.perf_counter()
        answer = self.http.get(self.stack.base_url + path, headers=headers, timeout=120)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200:
            self.failures.append(f"{path}: {answer.status_code}")
        return elapsed

    def log_in(self) -> None:
        url = self.stack.base_url + "/admin/login/"
        self.http.get(url, timeout=30)
        answer = self.http.post(
            url,
            data={
                "username": STAFF[0],
                "password": STAFF[1],
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
                "next": "/admin/",
            },
            headers={"Referer": url},
            timeout=30,
        )
        if "sessionid" not in self.http.cookies:
            raise RuntimeError(f"the admin login failed: {answer.status_code}")


def warm_up(timer: Timer, path: str, stack: Stack, **headers) -> None:
    """A few untimed requests, so that each gunicorn worker's first request
    (its imports, its connection) is not counted."""
    for _ in range(2 * stack.web_workers):
        timer.get(path, **headers)


def search_paths(loaded: dict, samples: int, seed: int) -> tuple[list[str], list[str]]:
    """Flight searches on the seeded routes and 3-night, 2-room hotel
    searches in the seeded cities, over the whole year."""
    chance = random.Random(seed)
    first = date.fromisoformat(loaded["first_day"])
    days = loaded["sizes"]["days"]
    flights, hotels = [], []
    for _ in range(samples):
        origin, destination = chance.choice(loaded["routes"])
        day = first + timedelta(days=chance.randrange(days))
        flights.append(f"/api/v1/flights/?origin={origin}&destination={destination}&date={day}")
        check_in = first + timedelta(days=chance.randrange(max(1, days - 3)))
        city = chance.choice(loaded["cities"]).replace(" ", "%20")
        hotels.append(
            f"/api/v1/hotels/?city={city}&check_in={check_in}"
            f"&check_out={check_in + timedelta(days=3)}&rooms=2"
        )
    return flights, hotels


WRK_SECONDS = 10
WRK_SCRIPT = ROOT / "loadtest" / "wrk" / "search.lua"


def wrk_paths(loaded: dict, seed: int) -> dict[str, list[str]]:
    """Enough distinct searches that a cold run rarely repeats one within
    the cache's few seconds."""
    flights, hotels = search_paths(loaded, 20_000, seed)
    chance = random.Random(seed)
    hotels = [path.replace("rooms=2", f"rooms={chance.randint(1, 4)}") for path in hotels]
    return {"flight_search": flights, "hotel_search": hotels}


def wrk_per_s(stack: Stack, timer: Timer, paths: list[str], *, warm: bool) -> float | None:
    """Searches a second under wrk (loadtest/wrk/search.lua); None without
    wrk. An error or an answer of 4xx/5xx is a failure of the run."""
    if shutil.which("wrk") is None:
        return None
    listing = RESULTS / "logs" / "wrk-paths.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("\n".join(paths) + "\n")
    environment = {**os.environ, "PATHS_FILE": str(listing), "WARM": "1" if warm else "0"}
    connections = str(stack.web_workers)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{WRK_SECONDS}s", "-s", str(WRK_SCRIPT)]
    result = subprocess.run(
        [*command, stack.base_url],
        capture_output=True,
        text=True,
        env=environment,
        timeout=WRK_SECONDS + 120,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    bad = re.search(r"searches \d+ errors (\d+) non2xx (\d+)", result.stdout)
    if result.returncode or not rate or not bad or bad.group(1) != "0" or bad.group(2) != "0":
        timer.failures.append(f"wrk {paths[0]}: {result.stdout[-500:]} {result.stderr[-500:]}")
        return None
    return float(rate.group(1))


def time_in_shell(stack: Stack, code: str) -> dict:
    """Run `code` (which prints one JSON line last) in `manage.py shell` on
    the stack."""
    result = stack.manage("shell", "-c", code, timeout=3600)
    return json.loads(result.stdout.strip().splitlines()[-1])


RECONCILE = """
import json, time
from bookings.reconciliation import find_drift
times = []
for _ in range({repeat}):
    started = time.perf_counter()
    drift = find_drift()
    times.append(time.perf_counter() - started)
print(json.dumps({{"seconds": times, "drift": len(drift)}}))
"""

# The sweep's CPU from /proc: its own (this process), its PostgreSQL
# backend's, and the whole server's (the postmaster and every process under
# it, the backend still alive at both ends).
SWEEP = """
import json, time
from django.db import connection
from bookings.services import expire_overdue_holds
from loadtest.bench import _stat, tree_cpu_seconds
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
server = int(_stat(backend)[1])
def cpu():
    return time.process_time(), tree_cpu_seconds(backend, {}), tree_cpu_seconds(server)
before = cpu()
started = time.perf_counter()
expired = expire_overdue_holds()
seconds = time.perf_counter() - started
after = cpu()
cpu = {
    name: round(after[k] - before[k], 2)
    for k, name in enumerate(("python", "postgresql_backend", "postgresql_all"))
}
print(json.dumps({"seconds": [seconds], "expired": expired, "cpu_seconds": cpu}))
"""


def sweep(stack: Stack) -> dict:
    """One expiry sweep of the overdue holds, timed in a shell on the stack,
    with its CPU split (`SWEEP`: its Python, its PostgreSQL backend, and the
    whole PostgreSQL's, whose difference from the backend's is autovacuum,
    the checkpointer and the WAL writer) and what PostgreSQL did beside it
    (`Beside`)."""
    with Beside(stack.database_url) as beside:
        swept = time_in_shell(stack, SWEEP)
    swept["beside"] = beside.report()
    return swept


def hold_path(stack: Stack, workdir: Path, options, wrk: str) -> dict:
    """The plain side-by-side (loadtest/side_by_side.py, its own functions:
    hold+cancel with wrk, the floor against the project, alternating rounds)
    on this stack, with the size's data loaded and swept: the project's hot
    flight is one cabin added to that data and its customers are fresh, as in
    the plain run, and the floor has its own database on the same
    PostgreSQL. Only the data beside them differs from a plain side-by-side,
    so the two ratios compare. Settled first (the sweep left autovacuum work
    behind on a small size), so that neither app runs under it."""
    settled = settle(stack.database_url, None, timeout=300)
    print(f"    hold path: settled {json.dumps(settled)}", flush=True)
    with side_by_side.Floor(
        stack, workdir, workers=options.web_workers, worker_class=options.worker_class
    ) as floor:
        project = side_by_side.Project(stack, workdir, side_by_side.VARIANTS["plain"], options)
        warmups, rounds = side_by_side.alternate(project, floor, wrk, options)
    return {
        "settle": settled,
        "config": side_by_side.config(options),
        **side_by_side.rounds_report(warmups, rounds),
    }


def measure(stack: Stack, loaded: dict, samples: int) -> dict:
    timer = Timer(stack)
    ops: dict[str, list[float]] = {}
    flights, hotels = search_paths(loaded, samples, seed=17)
    flush = lambda: cold_cache(stack)  # noqa: E731
    for name, paths in (("flight_search", flights), ("hotel_search", hotels)):
        warm_up(timer, paths[0], stack)
        ops[name] = [timer.get(path, before=flush) for path in paths]
    warm = {}
    for name, paths in (("flight_search", flights), ("hotel_search", hotels)):
        repeated = [timer.get(paths[0]) for _ in range(samples)]
        warm[name] = {
            "cold_per_s": round(len(ops[name]) / sum(ops[name]), 1),
            "warm_per_s": round(len(repeated) / sum(repeated), 1),
        }
        warm[name]["warm_over_cold"] = round(warm[name]["warm_per_s"] / warm[name]["cold_per_s"], 2)
    for name, paths in wrk_paths(loaded, seed=29).items():
        cold_cache(stack)
        cold = wrk_per_s(stack, timer, paths, warm=False)
        hot = wrk_per_s(stack, timer, paths, warm=True)
        warm[name].update(
            wrk_cold_per_s=cold,
            wrk_warm_per_s=hot,
            wrk_warm_over_cold=round(hot / cold, 2) if cold and hot else None,
        )
    auth = {"Authorization": f"Token {loaded['token']}"}
    warm_up(timer, "/api/v1/bookings/", stack, **auth)
    ops["booking_list"] = [timer.get("/api/v1/bookings/", **auth) for _ in range(samples)]
    timer.log_in()
    admin_samples = max(5, samples // 10)
    for name, path in ADMIN_PAGES.items():
        warm_up(timer, path, stack)
        ops[name] = [timer.get(path) for _ in range(admin_samples)]
    reconciled = time_in_shell(stack, RECONCILE.format(repeat=3))
    ops["reconcile"] = reconciled["seconds"]
    swept = sweep(stack)
    ops["expiry_sweep"] = swept.pop("seconds")
    return {
        "ops": {name: summary_of(values) for name, values in ops.items()},
        "search_throughput": warm,
        "expired": swept.pop("expired"),
        "sweep": swept,
        "drift_before_sweep": reconciled["drift"],
        "failures": timer.failures,
    }


def run_size(
    fraction: float, options, template: Path, workdir: Path, *, collect: bool, wrk: str | None
) -> dict:
    """Load one size, settle it, time it; the hold path too when `wrk`."""
    print(f"\n=== scale {fraction:g}: load average {load_average()}", flush=True)
    with Stack(
        name=f"bench-scale-{fraction:g}",
        web_workers=options.web_workers,
        worker_class=options.worker_class,
        threads=options.threads,
        settings={**STACK_SETTINGS, **dict(options.settings)},
        template=template,
        keep_logs_in=RESULTS / "logs",
        setup=collect_static if collect else None,
    ) as stack:
        loaded = load(stack, fraction)
        print(f"    loaded {loaded['counts']} in {loaded['load_seconds']} s", flush=True)
        settled = {
            "vacuum_analyze_seconds": loaded["settled"]["seconds"],
            **settle(stack.database_url, loaded["settled"]["tables"]),
        }
        settled["seconds"] = round(
            settled["vacuum_analyze_seconds"]
            + settled["autovacuum_wait"]["seconds"]
            + settled["checkpoint_seconds"],
            1,
        )
        print(f"    settled in {settled['seconds']} s: {json.dumps(settled)}", flush=True)
        figures = measure(stack, loaded, options.samples)
        if wrk:
            figures["hold_path"] = hold_path(stack, workdir, options, wrk)
        problems = check_stack(stack)
    report = {
        "fraction": fraction,
        "counts": loaded["counts"],
        "overdue_holds": loaded["sizes"]["overdue_holds"],
        "load_seconds": loaded["load_seconds"],
        "settle": settled,
        **figures,
        "invariants": {"ok": not problems, "problems": problems},
        "load_average_after": load_average(),
    }
    print(table_lines([report]), flush=True)
    print(f"    search throughput {json.dumps(report['search_throughput'])}", flush=True)
    print(f"    sweep {json.dumps(report['sweep'])}", flush=True)
    return report


# --- output ---------------------------------------------------------------------------------


def table_lines(sizes: list[dict]) -> str:
    operations = list(sizes[0]["ops"])
    header = "| operation | " + " | ".join(
        f"{s['fraction']:g} ({s['counts']['bookings']:,} bookings)" for s in sizes
    )
    lines = [header + " |", "| --- |" + " --- |" * len(sizes)]
    for op in operations:
        cells = [f"{s['ops'][op]['p95_ms']:,.1f}" for s in sizes]
        lines.append(f"| {op} p95 ms | " + " | ".join(cells) + " |")
    lines.append("| load s | " + " | ".join(f"{s['load_seconds']:,.1f}" for s in sizes) + " |")
    for label, cell in EXTRA_ROWS:
        cells = [cell(s) for s in sizes]
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(c or "-" for c in cells) + " |")
    return "\n".join(lines)


def _settle_cell(size: dict) -> str | None:
    settled = size.get("settle")
    if not settled:
        return None
    waited = settled["autovacuum_wait"]
    return (
        f"{settled['seconds']:,.1f} ({settled['vacuum_analyze_seconds']:,.1f} + "
        f"{waited['seconds']:,.1f}{' timed out' if waited['timed_out'] else ''} + "
        f"{settled['checkpoint_seconds']:,.1f})"
    )


def _sweep_cpu_cell(size: dict) -> str | None:
    cpu = size.get("sweep", {}).get("cpu_seconds")
    if not cpu:
        return None
    return f"{cpu['python']:,.1f} / {cpu['postgresql_backend']:,.1f} / {cpu['postgresql_all']:,.1f}"


def _sweep_beside_cell(size: dict) -> str | None:
    beside = size.get("sweep", {}).get("beside")
    if not beside:
        return None
    tables = sorted({worker["table"] for worker in beside["autovacuum"]})
    return (
        f"{beside['autovacuum_share']:.0%} ({', '.join(tables) or 'none'}) / "
        f"{beside['checkpoints']['timed'] + beside['checkpoints']['requested']}"
    )


def _hold_path_cell(size: dict) -> str | None:
    held = size.get("hold_path")
    if not held:
        return None
    ratios = ", ".join(f"{r['ratio']:.3f}" for r in held["rounds"])
    return f"{held['median_ratio']:.3f} ({ratios})"


# Rows under the p95s, each only when some size has it.
EXTRA_ROWS = (
    ("settle s (vacuum + autovacuum wait + checkpoint)", _settle_cell),
    ("expiry_sweep CPU s (Python / its backend / all PostgreSQL)", _sweep_cpu_cell),
    ("expiry_sweep beside: autovacuum share of samples (tables) / checkpoints", _sweep_beside_cell),
    ("hold+cancel project/floor, median (rounds)", _hold_path_cell),
)


def draw(sizes: list[dict], path: Path) -> None:
    """p95 against data size (bookings loaded), log-log, one line per
    operation."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 5), dpi=110)
    x = [s["counts"]["bookings"] for s in sizes]
    for op in sizes[0]["ops"]:
        axes.plot(x, [s["ops"][op]["p95_ms"] for s in sizes], marker="o", label=op)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("bookings loaded (inventory grows in proportion)")
    axes.set_ylabel("p95 latency, ms")
    axes.set_title("Cost against data size (make bench WORKLOAD=scale)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)


def targets(sizes: list[dict]) -> dict:
    largest = sizes[-1]
    return {
        f"{op}_p95_under_{limit}ms_at_{largest['fraction']:g}": (
            largest["ops"][op]["p95_ms"] or 1e12
        )
        < limit
        for op, limit in TARGETS_MS.items()
        if op in largest["ops"]
    }


def main(options, workdir: Path) -> int:
    from loadtest.bench import _commit

    fractions = options.sizes or DEFAULT_SIZES
    # The hold path at the largest size: the floor and wrk checked before
    # anything is loaded.
    wrk = side_by_side.require_floor() if options.hold_path else None
    print(f"load average {load_average()}; making a migrated database ...", flush=True)
    template = Stack.make_template(workdir / "template")
    probe = cpu_probe_ms()
    sizes = [
        run_size(
            fraction,
            options,
            template,
            workdir,
            collect=index == 0,
            wrk=wrk if fraction == max(fractions) else None,
        )
        for index, fraction in enumerate(fractions)
    ]
    report = {
        "workload": "scale",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": {"cpu_probe_ms": probe, "load_average": load_average()},
        "config": {
            "samples": options.samples,
            "web_workers": options.web_workers,
            "worker_class": options.worker_class,
            "hold_path": options.hold_path,
        },
        "sizes": sizes,
        "targets": targets(sizes),
    }
    options.output.mkdir(parents=True, exist_ok=True)
    path = options.output / f"scale{options.tag}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    chart = options.chart or CHART
    draw(sizes, chart)
    print("\n" + table_lines(sizes))
    print(f"targets {report['targets']}")
    print(f"written to {path} and {chart}")
    failed = any(
        s["failures"]
        or not s["invariants"]["ok"]
        or not s.get("hold_path", {}).get("no_bad_answers", True)
        for s in sizes
    )
    print(
        "\nFAILED: an answer was not a 200 (or a hold's 201), or an invariant broke"
        if failed
        else "\nall answered"
    )
    return 1 if failed else 0
