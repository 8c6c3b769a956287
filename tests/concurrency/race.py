"""Running races: many workers, each with its own PostgreSQL connection, in
threads of this process or spread over OS processes (as gunicorn workers).

A worker is a list of jobs, one per round. Before each round every worker
waits at one barrier, so the round's jobs start together; a worker with None
for a round sits it out (but still meets the others at the barrier). A job is
a plain dict, so it crosses process boundaries with 'fork' and 'spawn' alike:

    {"kind": "hold", "token": ..., "body": {...}}       POST /api/v1/bookings/
    {"kind": "confirm" | "cancel", "token": ..., "reference": ...}  (confirm: "staff_token")
    {"kind": "expire", "booking_id": ..., "now": iso}   expire_bookings(...)
    {"kind": "sweep", "now": iso}                       expire_overdue_holds(...)
    {"kind": "put", "token": ..., "path": ..., "body": {...}}   PUT path (a seat block)

A hold's body is built with tests.booking_requests. confirm and cancel take
"via": "service" to call the service without HTTP, and any job a "delay" in
seconds: a head start for the others in its round.

Each job answers with an outcome string ("201", "409 insufficient_inventory",
"expired 1", "500 IntegrityError") that the tests count and the figures record.
"""

import json
import multiprocessing
import os
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from queue import Empty

from django.conf import settings
from django.db import connection, connections

BARRIER_TIMEOUT = 30.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "concurrency"


# --- Results ------------------------------------------------------------------------


@dataclass
class Race:
    """What every job answered, by worker and round, and how long it took."""

    results: list[list[dict | None]]
    wall_seconds: float
    mode: str
    workers: int
    connections_peak: int = 0
    extra: dict = field(default_factory=dict)

    def answers(self) -> list[dict]:
        return [r for worker in self.results for r in worker if r is not None]

    def outcomes(self) -> Counter:
        return Counter(r["outcome"] for r in self.answers())

    def race_seconds(self) -> float:
        """From the first job's start to the last job's end (without the
        start-up of threads and processes)."""
        answers = self.answers()
        return max(r["end"] for r in answers) - min(r["start"] for r in answers)

    def figures(self) -> dict:
        return {
            "mode": self.mode,
            "workers": self.workers,
            "requests": len(self.answers()),
            "race_seconds": round(self.race_seconds(), 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "outcomes": dict(sorted(self.outcomes().items())),
            **self.extra,
        }


def record_figures(name: str, race: Race, **extra) -> dict:
    """Print the race's figures and keep them under artifacts/ for the notes."""
    figures = {"test": name, **race.figures(), **extra}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"\n[race] {json.dumps(figures, default=str)}")
    return figures


# --- Running --------------------------------------------------------------------------


def run_race(
    workers: list[list[dict | None]],
    *,
    processes: int = 0,
    start_method: str = "fork",
    timeout: float = 60.0,
) -> Race:
    """Run every worker's jobs round by round; `processes` > 0 spreads the
    workers over that many OS processes (threads inside each)."""
    rounds = {len(jobs) for jobs in workers}
    assert len(rounds) == 1, "every worker has one entry per round (None to sit out)"
    started = time.monotonic()
    if processes:
        results = _run_in_processes(workers, processes, start_method, timeout)
        mode = f"{processes} processes ({start_method})"
    else:
        barrier = threading.Barrier(len(workers))
        results = _run_in_threads(list(enumerate(workers)), barrier, timeout)
        mode = "threads"
    return Race(
        results=results,
        wall_seconds=time.monotonic() - started,
        mode=mode,
        workers=len(workers),
    )


def _run_in_threads(workers: list[tuple[int, list]], barrier, timeout: float) -> list[list]:
    results: dict[int, list] = {}
    failures: list[str] = []

    def work(index: int, jobs: list) -> None:
        try:
            results[index] = run_worker(jobs, barrier)
        except BaseException:
            failures.append(traceback.format_exc())
            barrier.abort()  # the others fail fast rather than wait for us
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(index, jobs), name=f"racer-{index}", daemon=True)
        for index, jobs in workers
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"workers still running after {timeout}s: {stuck}"
    assert not failures, "a worker failed:\n" + "\n".join(failures)
    return [results[index] for index, _ in workers]


def run_worker(jobs: list, barrier) -> list:
    """Open this worker's connection and client first, so the race is about
    the requests and not about connecting; then play each round."""
    connection.ensure_connection()
    out = []
    for job in jobs:
        barrier.wait(BARRIER_TIMEOUT)
        out.append(None if job is None else execute(job))
    return out


def _run_in_processes(workers, processes: int, start_method: str, timeout: float):
    context = multiprocessing.get_context(start_method)
    barrier = context.Barrier(len(workers))
    queue = context.Queue()
    shares = [list(enumerate(workers))[p::processes] for p in range(processes)]
    db_name = settings.DATABASES["default"]["NAME"]
    _load_views()  # once here, inherited by forked children
    # A forked child must not share the parent's sockets to PostgreSQL.
    connections.close_all()
    children = [
        context.Process(
            target=process_main,
            args=(share, barrier, queue, db_name, start_method == "spawn"),
            name=f"racer-process-{p}",
        )
        for p, share in enumerate(shares)
    ]
    for child in children:
        child.start()
    results: dict[int, list] = {}
    failures = []
    deadline = time.monotonic() + timeout
    answered = 0
    try:
        while answered < len(children):
            try:
                kind, payload = queue.get(timeout=0.5)
            except Empty:
                dead = [c.name for c in children if c.exitcode not in (None, 0)]
                if dead:
                    failures.append(f"processes died without an answer: {dead}")
                    break
                assert time.monotonic() < deadline, f"no answer from the processes in {timeout}s"
                continue
            answered += 1
            (results.update if kind == "ok" else failures.append)(payload)
    finally:
        for child in children:
            child.join(max(0.1, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
                child.join()
    assert not failures, "a worker process failed:\n" + "\n".join(failures)
    return [results[index] for index in range(len(workers))]


def _load_views() -> None:
    """Import the URLconf and every view before the race, not in its first
    request."""
    from django.urls import get_resolver

    get_resolver().check()


def process_main(share, barrier, queue, db_name: str, spawned: bool) -> None:
    """The body of one OS process: its own Django, its own connections."""
    try:
        if spawned:
            import django

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
            django.setup()
            from django.test.utils import setup_test_environment

            settings.DATABASES["default"]["NAME"] = db_name
            setup_test_environment()  # 'testserver' in ALLOWED_HOSTS, as in the parent
            _load_views()
        answers = _run_in_threads(share, barrier, BARRIER_TIMEOUT * 4)
        queue.put(("ok", {index: out for (index, _), out in zip(share, answers, strict=True)}))
    except BaseException:
        queue.put(
            ("failed", f"{multiprocessing.current_process().name}:\n{traceback.format_exc()}")
        )


# --- Jobs -------------------------------------------------------------------------------

_clients = threading.local()


def _client(token: str):
    from rest_framework.test import APIClient

    cached = getattr(_clients, "by_token", None)
    if cached is None:
        cached = _clients.by_token = {}
    if token not in cached:
        # A server error is an answer to count, not an exception in the worker.
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        cached[token] = client
    return cached[token]


def execute(job: dict) -> dict:
    started = time.time()
    if job.get("delay"):
        threading.Event().wait(job["delay"])  # a head start for the others, not a rendezvous
    answer = _JOBS[job["kind"]](job)
    return {**answer, "job": job, "start": started, "end": time.time()}


def _http_answer(response) -> dict:
    body = response.json() if response.content else {}
    outcome = str(response.status_code)
    if response.status_code >= 400:
        outcome += f" {body.get('code', '?')}"
    # The test client's got_request_exception receiver hears every thread's
    # exceptions: only a server error's own is worth naming.
    exc_info = getattr(response, "exc_info", None)
    if exc_info and response.status_code >= 500:
        outcome += f" {exc_info[0].__name__}"
    return {"outcome": outcome, "status": response.status_code, "body": body}


def _hold(job: dict) -> dict:
    return _http_answer(_client(job["token"]).post("/api/v1/bookings/", job["body"], format="json"))


def _put(job: dict) -> dict:
    return _http_answer(_client(job["token"]).put(job["path"], job["body"], format="json"))


def _confirm(job: dict) -> dict:
    if job.get("via") == "service":
        return _by_service("confirm_booking", job, payment_reference=job["payment_reference"])
    # Through the API, a confirm is staff's (a customer pays instead).
    return _http_answer(
        _client(job["staff_token"]).post(
            f"/api/v1/bookings/{job['reference']}/confirm/",
            {"payment_reference": job["payment_reference"]},
            format="json",
        )
    )


def _cancel(job: dict) -> dict:
    if job.get("via") == "service":
        return _by_service("cancel_booking", job)
    return _http_answer(_client(job["token"]).post(f"/api/v1/bookings/{job['reference']}/cancel/"))


def _by_service(name: str, job: dict, **kwargs) -> dict:
    """The same transition without the HTTP stack, answered as the API would."""
    from bookings import services
    from bookings.models import Booking
    from config.exceptions import DomainError

    booking = Booking.objects.select_related("customer").get(reference=job["reference"])
    try:
        booking = getattr(services, name)(booking=booking, actor=booking.customer, **kwargs)
    except DomainError as exc:
        return {"outcome": f"{exc.status_code} {exc.code}", "status": exc.status_code, "body": {}}
    return {"outcome": "200", "status": 200, "body": {"status": booking.status}}


def _expire(job: dict) -> dict:
    from bookings.services import expire_bookings

    count = expire_bookings(
        booking_ids=[job["booking_id"]], now=datetime.fromisoformat(job["now"]), note="race"
    )
    return {"outcome": f"expired {count}", "count": count}


def _sweep(job: dict) -> dict:
    from bookings.services import expire_overdue_holds

    count = expire_overdue_holds(now=datetime.fromisoformat(job["now"]))
    return {"outcome": f"swept {count}", "count": count}


_JOBS = {
    "hold": _hold,
    "put": _put,
    "confirm": _confirm,
    "cancel": _cancel,
    "expire": _expire,
    "sweep": _sweep,
}
