"""`make bench WORKLOAD=side-by-side`: the project's hold path against the
floor, the cheapest hold endpoint a competent DRF developer would write
(../shared/perf, beside the checkout; its README says why a ratio measured
in one run is the yardstick on a shared machine).

    python -m loadtest.bench side-by-side [--rounds 3] [--duration 20] [--warmup 5]
        [--connections 32] [--web-workers 3]

One private PostgreSQL and Redis (the bench's stack, tests/faults/stack.py)
serve both: the project under gunicorn with the production settings, and the
floor with its own database `floor` on the same PostgreSQL, each with the
same gunicorn worker count and class (3 sync workers by default), each on its
own port. Each gets one flight with a large economy cabin and 256 customers
with tokens, written as a Lua file (`flight_id = N`, `tokens = {...}`) for
../shared/perf/holdcancel.lua, which Debian's `wrk` (C, so it costs the
servers little CPU) runs: every connection holds one seat, cancels it, and
holds again.

After a warm-up of each, the rounds alternate (floor then project, then the
other way round). Each round prints holds/s, cancels, bad answers and wrk's
p50/p99 (over holds and cancels alike); the end prints the median
project/floor ratio, and the whole is written to
bench-results/side-by-side.json. The exit status is 1 if any run had a bad
answer (anything but 201 for a hold or 200 for a cancel, or a socket error)
or if the project's invariants do not hold afterwards; the ratio is
reported, never enforced.

`--variant` changes what the project runs (the floor always runs plain
hold+cancel, the yardstick); see VARIANTS and README, Performance:

    plain         hold+cancel (the default)
    payments      hold, start a payment, cancel (loadtest/wrk/cycle.lua)
    webhooks      hold, cancel, and one signed sandbox `payment.succeeded`
                  webhook confirming a booking of a pool seeded in bulk
    seats-auto    hold+cancel on a flight with a seat map of 5,000 rows of
                  3-3, the seats auto-assigned
    seats-chosen  the same, each connection choosing its own seats
    events        hold+cancel with one webhook endpoint subscribed to
                  everything, a local receiver and the Celery workers
                  running; event-to-delivered p50/p95 after each run

Each project run also reads gunicorn's own request time per request type
from its log (worker-milliseconds: what a request takes out of the web
workers' capacity, in the same run under the same load) and prints each
type's mean relative to the hold's: "costs no more than a hold" reads as
that ratio at most 1.0.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from loadtest import events_out
from loadtest.machine import cpu_probe_ms, load_average
from tests.faults.checks import check_stack
from tests.faults.stack import (
    PYTHON,
    ROOT,
    VENV_BIN,
    Stack,
    free_ports,
    sandbox_success,
    terminate_all,
    wait_until,
)

PERF = Path(os.environ.get("SHARED_PERF_DIR", ROOT.parent / "shared" / "perf"))
FLOOR = PERF / "floor"
SCRIPT = PERF / "holdcancel.lua"

CYCLE = ROOT / "loadtest" / "wrk" / "cycle.lua"

CUSTOMERS = 256
CABIN_SEATS = 100_000  # a hold is cancelled at once: only one per connection is out
DEFAULTS = {"rounds": 3, "duration": 20.0, "warmup": 5.0, "connections": 32}

STACK_SETTINGS = {
    "THROTTLING": "off",  # the floor has none
    "LOG_LEVEL": "WARNING",
    # wrk stops mid-cycle: each run may leave one hold per connection behind,
    # on a customer the next run holds for again. The floor has no limit.
    "MAX_ACTIVE_HOLDS_PER_CUSTOMER": "1000",
}


@dataclass(frozen=True)
class Variant:
    """What the project runs in a side-by-side; the target it is read against."""

    steps: str = "hold,cancel"  # loadtest/wrk/cycle.lua's STEPS
    seats: str = ""  # "auto" or "chosen": the flight has a seat map (SEAT_ROWS of 3-3)
    webhooks: bool = False  # a pool of signed sandbox webhooks for payable holds
    events: bool = False  # an endpoint, a receiver and the Celery workers
    target: str = "project/floor >= 1.0"

    @property
    def script(self) -> Path:
        """The floor's own holdcancel.lua whenever it does what the variant
        does (the same Lua cost on both sides), else cycle.lua."""
        return SCRIPT if self.steps == "hold,cancel" and self.seats != "chosen" else CYCLE


VARIANTS = {
    "plain": Variant(),
    "payments": Variant(
        steps="hold,pay,cancel", target="pay / hold <= 1.0 (worker-ms); hold+cancel stays >= 1.0"
    ),
    "webhooks": Variant(
        steps="hold,cancel,webhook",
        webhooks=True,
        target="webhook / hold <= 1.0 (worker-ms); hold+cancel stays >= 1.0",
    ),
    "seats-auto": Variant(seats="auto", target="project/floor >= 0.8"),
    "seats-chosen": Variant(seats="chosen", target="project/floor >= 0.8"),
    "events": Variant(events=True, target="project/floor >= 1.0; event-to-delivered p95 < 2000 ms"),
}
SEAT_ROWS = 5000
SEAT_COLUMNS = "ABC DEF"
# Signed webhooks per connection and second of a run: well above what one
# connection cycles (a spent share skips the step; the run says so).
WEBHOOKS_PER_CONNECTION_S = 8


@dataclass
class Run:
    """One wrk run against one app, as holdcancel.lua and wrk report it."""

    app: str
    seconds: float
    holds: int
    cancels: int
    bad: int
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None
    # cycle.lua's other counts (payments, webhooks, taken seats), the
    # request costs from gunicorn's log, event-to-delivered.
    extra: dict = field(default_factory=dict)

    @property
    def holds_per_s(self) -> float:
        return round(self.holds / self.seconds, 1) if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        return self.bad > 0 or self.socket_errors > 0

    def line(self) -> str:
        counts = {k: v for k, v in self.extra.get("counts", {}).items() if v and k != "seat_next"}
        text = (
            f"{self.app:>7}: {self.holds_per_s:7.1f} holds/s, {self.cancels} cancels, "
            f"{self.bad} bad, {self.socket_errors} socket errors, "
            f"p50 {self.p50_ms} ms, p99 {self.p99_ms} ms"
        ) + "".join(f", {n} {name}" for name, n in counts.items())
        if costs := self.extra.get("costs"):
            text += (
                "\n             worker-ms per request (mean, relative to the hold): "
                + ", ".join(
                    f"{kind} {c['mean_ms']} ({c['vs_hold']}x, {c['count']})"
                    for kind, c in costs.items()
                )
            )
        if latency := self.extra.get("event_to_delivered"):
            text += (
                f"\n             event to delivered: {latency['delivered']} of "
                f"{latency['events']} events, p50 {latency['p50_ms']} ms, "
                f"p95 {latency['p95_ms']} ms, max {latency['max_ms']} ms"
            )
        return text

    def as_dict(self) -> dict:
        return {**asdict(self), "holds_per_s": self.holds_per_s}


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(app: str, output: str) -> Run:
    """wrk's report with `--latency` and holdcancel.lua's `done` line."""
    counts = re.search(r"holds=(\d+) cancels=(\d+) bad=(\d+)", output)
    if counts is None:
        raise RuntimeError(f"wrk did not report holdcancel.lua's counts:\n{output[-2000:]}")
    seconds = re.search(r"requests in ([\d.]+)(us|ms|s|m),", output)
    latency = {
        int(p): round(float(value) * _UNIT_MS[unit], 2)
        for p, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    line = output[counts.start() :].splitlines()[0]
    others = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    return Run(
        app=app,
        seconds=float(seconds[1]) * _UNIT_MS[seconds[2]] / 1000 if seconds else 0.0,
        holds=int(counts[1]),
        cancels=int(counts[2]),
        bad=int(counts[3]),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        p50_ms=latency.get(50),
        p99_ms=latency.get(99),
        extra={"counts": {k: others[k] for k in others if k not in ("holds", "cancels", "bad")}},
    )


def tokens_lua(path: Path, flight_id: int, tokens: list[str]) -> Path:
    """The file holdcancel.lua reads (TOKENS_LUA)."""
    path.write_text(
        f"flight_id = {flight_id}\ntokens = {{{','.join(json.dumps(t) for t in tokens)}}}\n"
    )
    return path


def lua_string(text: str) -> str:
    """`text` as a Lua long string, whatever quotes or backslashes it holds."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def data_lua(
    path: Path,
    flight_id: int,
    tokens: list[str],
    *,
    seat_map: dict | None = None,
    hooks: list[tuple[bytes, dict]] | None = None,
) -> Path:
    """The file cycle.lua reads (DATA_LUA): holdcancel.lua's, and the seat
    map's shape, and the signed webhooks as {id, timestamp, signature, body}."""
    lines = [tokens_lua(path, flight_id, tokens).read_text()]
    if seat_map:
        lines.append(
            f"seat_rows = {seat_map['rows']}\nseat_first_row = {seat_map['first_row']}\n"
            f"seat_letters = {json.dumps(seat_map['columns'].replace(' ', ''))}\n"
        )
    if hooks is not None:
        entries = (
            "{"
            + ",".join(
                lua_string(v)
                for v in (
                    h["webhook-id"],
                    h["webhook-timestamp"],
                    h["webhook-signature"],
                    body.decode(),
                )
            )
            + "}"
            for body, h in hooks
        )
        lines.append("hooks = {" + ",\n".join(entries) + "}\n")
    path.write_text("".join(lines))
    return path


# gunicorn's access line (config/gunicorn.py), inside the JSON log line:
# the request line, the status, the size and the request time in ms.
_ACCESS = re.compile(r'"(GET|POST|PUT) (/\S*) HTTP/[\d.]+\\?" (\d{3}) \S+ (\d+)ms')


def request_kind(method: str, path: str) -> str:
    if path.startswith("/api/v1/payments/webhooks/"):
        return "webhook"
    if path == "/api/v1/bookings/":
        return "hold"
    for suffix, kind in (("/cancel/", "cancel"), ("/payments/", "pay")):
        if path.endswith(suffix):
            return kind
    return f"{method} other"


def request_costs(log: str) -> dict[str, dict]:
    """Mean request time per kind of request from gunicorn's access lines,
    with each kind's ratio to the hold's."""
    times: dict[str, list[int]] = {}
    for method, path, _status, ms in _ACCESS.findall(log):
        times.setdefault(request_kind(method, path), []).append(int(ms))
    means = {kind: sum(v) / len(v) for kind, v in times.items()}
    hold = means.get("hold")
    return {
        kind: {
            "count": len(times[kind]),
            "mean_ms": round(mean, 1),
            "vs_hold": round(mean / hold, 2) if hold else None,
        }
        for kind, mean in sorted(means.items(), key=lambda item: item[0] != "hold")
    }


def find_wrk() -> str:
    """Debian's wrk, installed by scripts/services.sh (as root) when missing."""
    if shutil.which("wrk") is None:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "wrk"], check=True)
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    return found


class Floor:
    """The floor app under gunicorn, on the stack's PostgreSQL (database
    `floor`), started as ../shared/perf/README.md says."""

    def __init__(self, stack: Stack, workdir: Path, *, workers: int, worker_class: str):
        self.stack = stack
        self.workdir = workdir
        self.workers = workers
        self.worker_class = worker_class
        self.port = free_ports(1)[0]
        self.process: subprocess.Popen | None = None
        self.env = {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(FLOOR),
            "PYTHONDONTWRITEBYTECODE": "1",  # ../shared may be read-only
            "DJANGO_SETTINGS_MODULE": "floorapp.settings",
            "FLOOR_DB_NAME": "floor",
            "FLOOR_DB_USER": "travel",
            "FLOOR_DB_HOST": "127.0.0.1",
            "FLOOR_DB_PORT": str(stack.pg_port),
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Floor:
        with psycopg.connect(self.stack.database_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE floor")
        self._python("manage.py", "migrate", "--noinput")
        self.tokens = self.workdir / "floor_tokens.lua"
        self._python("make_tokens.py", str(CUSTOMERS), str(self.tokens))
        with open(self.workdir / "floor-gunicorn.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    "floorapp.wsgi",
                    *("-w", str(self.workers), "-k", self.worker_class),
                    *("-b", f"127.0.0.1:{self.port}", "--chdir", str(FLOOR)),
                ],
                cwd=FLOOR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_until(self._answers, timeout=60, interval=0.1, what="the floor's gunicorn")
        except BaseException:
            terminate_all([self.process])
            raise
        return self

    def __exit__(self, *exc) -> None:
        terminate_all([self.process])

    def _python(self, *args: str) -> None:
        subprocess.run(
            [str(PYTHON), *args], cwd=FLOOR, env=self.env, check=True, capture_output=True
        )

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            log = (self.workdir / "floor-gunicorn.log").read_text()[-2000:]
            raise RuntimeError(f"the floor's gunicorn exited:\n{log}")
        try:
            urllib.request.urlopen(self.base_url + "/", timeout=2).close()
        except urllib.error.HTTPError:
            return True  # any HTTP answer: it serves
        except OSError:
            return False
        return True


def wrk_run(
    wrk: str,
    app: str,
    url: str,
    data: Path,
    seconds: float,
    connections: int,
    *,
    script: Path = SCRIPT,
    env: dict[str, str] | None = None,
) -> Run:
    env = {
        **os.environ,
        "TOKENS_LUA": str(data),
        "DATA_LUA": str(data),
        "THREADS": str(connections),
        **(env or {}),
    }
    result = subprocess.run(
        [wrk, f"-t{connections}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
        + ["-s", str(script), url],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk exited {result.returncode}:\n{result.stderr[-2000:]}")
    return parse_wrk(app, result.stdout)


class Project:
    """The project's side of a variant: its data, and one wrk run of it with
    what the variant reads besides (request costs, event to delivered)."""

    def __init__(self, stack: Stack, workdir: Path, variant: Variant, options):
        self.stack, self.workdir, self.variant, self.options = stack, workdir, variant, options
        self.events: events_out.EventsOut | None = None
        customers = stack.seed("customers", count=CUSTOMERS)
        self.tokens = [customer["token"] for customer in customers]
        if variant.seats:
            self.seat_map = stack.seed("seat_mapped_flight", rows=SEAT_ROWS, columns=SEAT_COLUMNS)
            self.flight_id = self.seat_map["flight_id"]
        else:
            self.seat_map = None
            (inventory,) = stack.seed_batch([("inventory", {"cabins": [CABIN_SEATS]})])
            self.flight_id = inventory["cabins"][0]["flight_id"]
        self.seat_start = 0
        self.payments: list[dict] = []
        if variant.webhooks:
            seconds = options.warmup + options.rounds * options.duration
            needed = int(seconds * options.connections * WEBHOOKS_PER_CONNECTION_S)
            self.payments = stack.seed(
                "payable_holds",
                count=needed + options.connections,
                customers=[c["id"] for c in customers],
                timeout=600,
            )

    def data(self, seconds: float) -> Path:
        """This run's data file: a fresh share of the payable holds, signed
        now (the sandbox refuses a timestamp over 5 minutes old)."""
        hooks = None
        if self.variant.webhooks:
            size = int(seconds * self.options.connections * WEBHOOKS_PER_CONNECTION_S)
            share, self.payments = self.payments[:size], self.payments[size:]
            hooks = [sandbox_success(payment) for payment in share]
        return data_lua(
            self.workdir / "project_data.lua",
            self.flight_id,
            self.tokens,
            seat_map=self.seat_map,
            hooks=hooks,
        )

    def run(self, wrk: str, seconds: float) -> Run:
        data = self.data(seconds)
        log = self.stack.log("gunicorn.log")
        offset = log.stat().st_size
        started = events_out.now()
        run = wrk_run(
            wrk,
            "project",
            self.stack.base_url,
            data,
            seconds,
            self.options.connections,
            script=self.variant.script,
            env={
                "STEPS": self.variant.steps,
                "SEATS": self.variant.seats,
                "SEAT_START": str(self.seat_start),
            },
        )
        self.seat_start = run.extra["counts"].get("seat_next", self.seat_start)
        ended = events_out.now()
        with open(log, errors="replace") as lines:
            lines.seek(offset)
            run.extra["costs"] = request_costs(lines.read())
        if self.events is not None:
            # Delivered before the next run, which is then not measured
            # under this one's deliveries.
            run.extra["drained"] = self.events.drain()
            run.extra["event_to_delivered"] = self.events.latency(started, ended)
        return run


def require_floor() -> str:
    """The floor and its script beside the checkout, and wrk; wrk's path.
    Checked before anything starts (the scale bench checks before it loads
    millions of rows)."""
    for path in (FLOOR, SCRIPT):
        if not path.exists():
            raise SystemExit(f"{path} is missing: the floor lives in ../shared/perf")
    return find_wrk()


def alternate(project: Project, floor: Floor, wrk: str, options) -> tuple[list[Run], list[dict]]:
    """A warm-up of each app, then `options.rounds` rounds of
    `options.duration` seconds each, alternating which app goes first (the
    machine's drift then falls on both alike); each printed as it ends."""

    def load(app: str, seconds: float) -> Run:
        if app == "project":
            return project.run(wrk, seconds)
        return wrk_run(wrk, app, floor.base_url, floor.tokens, seconds, options.connections)

    warmups = [load(app, options.warmup) for app in ("floor", "project")]
    for warm in warmups:
        print(f"  warm-up {warm.line()}", flush=True)
    rounds = []
    for number in range(1, options.rounds + 1):
        order = ["floor", "project"] if number % 2 else ["project", "floor"]
        runs = {app: load(app, options.duration) for app in order}
        ratio = round(runs["project"].holds_per_s / max(runs["floor"].holds_per_s, 0.1), 3)
        rounds.append({"runs": runs, "ratio": ratio})
        print(f"  round {number}: project/floor {ratio}", flush=True)
        for app in order:
            print(f"    {runs[app].line()}", flush=True)
    return warmups, rounds


def rounds_report(warmups: list[Run], rounds: list[dict]) -> dict:
    """What `alternate` measured, as the JSON reports it: every run, the
    median project/floor ratio, the project's medians, and whether any run
    had a bad answer."""
    return {
        "warmups": [w.as_dict() for w in warmups],
        "rounds": [
            {"ratio": r["ratio"], **{app: run.as_dict() for app, run in r["runs"].items()}}
            for r in rounds
        ],
        "median_ratio": statistics.median(r["ratio"] for r in rounds) if rounds else None,
        "medians": medians([r["runs"]["project"] for r in rounds]),
        "no_bad_answers": not any(
            run.failed for run in warmups + [r for one in rounds for r in one["runs"].values()]
        ),
    }


def run(options, workdir: Path) -> dict:
    """Warm-up, alternating rounds and the project's invariants; the report."""
    wrk = require_floor()
    variant = VARIANTS[options.variant]
    load_before, probe = load_average(), cpu_probe_ms()
    print(
        f"=== side-by-side, variant {options.variant} ({variant.target}): "
        f"load average {load_before}, CPU probe {probe} ms",
        flush=True,
    )
    settings = {**STACK_SETTINGS, **(events_out.STACK_SETTINGS if variant.events else {})}
    with (
        Stack(
            name="bench-side-by-side",
            web_workers=options.web_workers,
            worker_class=options.worker_class,
            threads=options.threads,
            settings={**settings, **dict(options.settings)},
        ) as stack,
        Floor(
            stack, workdir, workers=options.web_workers, worker_class=options.worker_class
        ) as floor,
        contextlib.ExitStack() as scope,
    ):
        project = Project(stack, workdir, variant, options)
        if variant.events:
            project.events = scope.enter_context(events_out.EventsOut(stack))
        warmups, rounds = alternate(project, floor, wrk, options)
        problems = check_stack(stack)
    measured = rounds_report(warmups, rounds)
    report = {
        "workload": "side-by-side",
        "variant": options.variant,
        "target": variant.target,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_average(),
            "cpu_probe_ms": probe,
        },
        "config": config(options),
        "warmups": measured["warmups"],
        "rounds": measured["rounds"],
        "median_ratio": measured["median_ratio"],
        "invariants": {"ok": not problems, "problems": problems},
        "medians": measured["medians"],
        "checks": {"no_bad_answers": measured["no_bad_answers"], "invariants": not problems},
    }
    if variant.events:
        report["checks"]["every_event_delivered"] = all(
            run.extra.get("drained")
            for run in warmups + [r["runs"]["project"] for r in rounds]
            if run.app == "project"
        )
    return report


def config(options) -> dict:
    """How a side-by-side was run, as its report says it."""
    return {
        "rounds": options.rounds,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "connections": options.connections,
        "web_workers": options.web_workers,
        "worker_class": options.worker_class,
        "customers": CUSTOMERS,
        "floor": str(FLOOR),
    }


def medians(project_runs: list[Run]) -> dict:
    """Over the rounds' project runs: each request kind's cost relative to
    the hold, and the event-to-delivered p95."""
    found: dict[str, list[float]] = {}
    for run in project_runs:
        for kind, cost in run.extra.get("costs", {}).items():
            if cost["vs_hold"] is not None and kind != "hold":
                found.setdefault(f"{kind}_vs_hold", []).append(cost["vs_hold"])
        p95 = run.extra.get("event_to_delivered", {}).get("p95_ms")
        if p95 is not None:
            found.setdefault("event_to_delivered_p95_ms", []).append(p95)
    return {name: statistics.median(values) for name, values in found.items()}


def main(options, workdir: Path) -> int:
    started = time.monotonic()
    report = run(options, workdir)
    name = "side-by-side" + ("" if options.variant == "plain" else f"-{options.variant}")
    path = options.output / f"{name}{options.tag}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"variant {options.variant}: median project/floor ratio {report['median_ratio']}"
        + "".join(f", {k} {v}" for k, v in report["medians"].items())
        + f" over {len(report['rounds'])} round(s) of {options.duration:.0f}s "
        f"(target {report['target']}); invariants "
        f"{'ok' if report['invariants']['ok'] else report['invariants']['problems']}; "
        f"{time.monotonic() - started:.0f}s in all; written to {path}"
    )
    if not all(report["checks"].values()):
        print(f"FAILED: {report['checks']}")
        return 1
    return 0
