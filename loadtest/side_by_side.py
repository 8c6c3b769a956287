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
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from loadtest.machine import cpu_probe_ms, load_average
from tests.faults.checks import check_stack
from tests.faults.stack import PYTHON, ROOT, VENV_BIN, Stack, free_ports, terminate_all, wait_until

PERF = Path(os.environ.get("SHARED_PERF_DIR", ROOT.parent / "shared" / "perf"))
FLOOR = PERF / "floor"
SCRIPT = PERF / "holdcancel.lua"

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

    @property
    def holds_per_s(self) -> float:
        return round(self.holds / self.seconds, 1) if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        return self.bad > 0 or self.socket_errors > 0

    def line(self) -> str:
        return (
            f"{self.app:>7}: {self.holds_per_s:7.1f} holds/s, {self.cancels} cancels, "
            f"{self.bad} bad, {self.socket_errors} socket errors, "
            f"p50 {self.p50_ms} ms, p99 {self.p99_ms} ms"
        )

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
    return Run(
        app=app,
        seconds=float(seconds[1]) * _UNIT_MS[seconds[2]] / 1000 if seconds else 0.0,
        holds=int(counts[1]),
        cancels=int(counts[2]),
        bad=int(counts[3]),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        p50_ms=latency.get(50),
        p99_ms=latency.get(99),
    )


def tokens_lua(path: Path, flight_id: int, tokens: list[str]) -> Path:
    """The file holdcancel.lua reads (TOKENS_LUA)."""
    path.write_text(
        f"flight_id = {flight_id}\ntokens = {{{','.join(json.dumps(t) for t in tokens)}}}\n"
    )
    return path


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


def wrk_run(wrk: str, app: str, url: str, tokens: Path, seconds: float, connections: int) -> Run:
    env = {**os.environ, "TOKENS_LUA": str(tokens), "THREADS": str(connections)}
    result = subprocess.run(
        [wrk, f"-t{connections}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
        + ["-s", str(SCRIPT), url],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk exited {result.returncode}:\n{result.stderr[-2000:]}")
    return parse_wrk(app, result.stdout)


def seed_project(stack: Stack, workdir: Path) -> Path:
    inventory, customers = stack.seed_batch(
        [("inventory", {"cabins": [CABIN_SEATS]}), ("customers", {"count": CUSTOMERS})]
    )
    return tokens_lua(
        workdir / "project_tokens.lua",
        inventory["cabins"][0]["flight_id"],
        [customer["token"] for customer in customers],
    )


def run(options, workdir: Path) -> dict:
    """Warm-up, alternating rounds and the project's invariants; the report."""
    for path in (FLOOR, SCRIPT):
        if not path.exists():
            raise SystemExit(f"{path} is missing: the floor lives in ../shared/perf")
    wrk = find_wrk()
    load_before, probe = load_average(), cpu_probe_ms()
    print(f"=== side-by-side: load average {load_before}, CPU probe {probe} ms", flush=True)
    with (
        Stack(
            name="bench-side-by-side",
            web_workers=options.web_workers,
            worker_class=options.worker_class,
            threads=options.threads,
            settings={**STACK_SETTINGS, **dict(options.settings)},
        ) as stack,
        Floor(
            stack, workdir, workers=options.web_workers, worker_class=options.worker_class
        ) as floor,
    ):
        apps = {
            "floor": (floor.base_url, floor.tokens),
            "project": (stack.base_url, seed_project(stack, workdir)),
        }

        def load(app: str, seconds: float) -> Run:
            url, tokens = apps[app]
            return wrk_run(wrk, app, url, tokens, seconds, options.connections)

        warmups = [load(app, options.warmup) for app in apps]
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
        problems = check_stack(stack)
    every_run = warmups + [r for one in rounds for r in one["runs"].values()]
    report = {
        "workload": "side-by-side",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_average(),
            "cpu_probe_ms": probe,
        },
        "config": {
            "rounds": options.rounds,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "web_workers": options.web_workers,
            "worker_class": options.worker_class,
            "customers": CUSTOMERS,
            "floor": str(FLOOR),
        },
        "warmups": [w.as_dict() for w in warmups],
        "rounds": [
            {"ratio": r["ratio"], **{app: run.as_dict() for app, run in r["runs"].items()}}
            for r in rounds
        ],
        "median_ratio": statistics.median(r["ratio"] for r in rounds) if rounds else None,
        "invariants": {"ok": not problems, "problems": problems},
    }
    report["checks"] = {
        "no_bad_answers": not any(r.failed for r in every_run),
        "invariants": not problems,
    }
    return report


def main(options, workdir: Path) -> int:
    started = time.monotonic()
    report = run(options, workdir)
    path = options.output / f"side-by-side{options.tag}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"median project/floor ratio {report['median_ratio']} over {len(report['rounds'])} "
        f"round(s) of {options.duration:.0f}s; invariants "
        f"{'ok' if report['invariants']['ok'] else report['invariants']['problems']}; "
        f"{time.monotonic() - started:.0f}s in all; written to {path}"
    )
    if not all(report["checks"].values()):
        print(f"FAILED: {report['checks']}")
        return 1
    return 0
