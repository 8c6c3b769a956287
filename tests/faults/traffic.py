"""A bounded load of holds, confirms, cancels and reads through the HTTP API,
every answer recorded and judged against the contract (docs/api.md, Errors).

    with Traffic(stack.base_url, customers, items, threads=6, duration=30) as traffic:
        ...                      # inject a fault while it runs
    traffic.summary()            # requests, answers by status and code, problems

Each thread acts for its own customers (so a customer's bookings are only
ever touched by one thread and its view of them stays right) and loops:
confirm or cancel a held booking, cancel a confirmed one now and then, list
its held bookings when the active-hold limit says it lost track, else make a
new hold (half of them with an `Idempotency-Key`, retried with the same key
and body when the answer is lost or 503, as a careful client would).

It stops at the first of: `stop()`, `duration` seconds, `max_requests`
answers. It only talks to loopback addresses.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import requests

from tests.faults.stack import sandbox_success

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# Errors a client of this traffic may meet without anything being wrong.
EXPECTED_CODES = {
    "insufficient_inventory",
    "hold_expired",
    "invalid_state",
    "too_many_active_holds",
    "idempotency_key_in_use",
    "throttled",
    "service_unavailable",
    "payment_attempts_exhausted",
}


@dataclass(frozen=True)
class Answer:
    """One request and what came of it. Times are seconds since the run began."""

    op: str  # hold, confirm, cancel, list
    sent: float
    done: float
    status: int | None  # None: no HTTP answer at all (see `client_error`)
    code: str | None = None  # the error body's `code`
    retry_after: bool = False
    client_error: str | None = None  # e.g. ConnectionError: the worker died mid-request
    problem: str | None = None  # how the answer breaks the contract, if it does

    @property
    def latency(self) -> float:
        return self.done - self.sent

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def label(self) -> str:
        if self.status is None:
            return f"client:{self.client_error}"
        return f"{self.status} {self.code}" if self.code else str(self.status)


def judge(status: int, headers, body) -> tuple[str | None, bool, str | None]:
    """(`code`, Retry-After present, contract problem or None) for one answer."""
    retry_after = "Retry-After" in headers
    if 200 <= status < 300:
        return None, retry_after, None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return None, retry_after, f"{status} without a JSON body with a code"
    code = body["code"]
    if not isinstance(body.get("detail"), str):
        return code, retry_after, f"{status} {code} without a detail"
    if status == 503 and (code != "service_unavailable" or not retry_after):
        return code, retry_after, f"503 {code} without service_unavailable and Retry-After"
    if status == 429 and not retry_after:
        return code, retry_after, "429 without Retry-After"
    if status >= 500 and status != 503:
        return code, retry_after, f"server error {status} {code}"
    if code not in EXPECTED_CODES:
        return code, retry_after, f"unexpected {status} {code}: {str(body)[:300]}"
    return code, retry_after, None


class _Customer:
    def __init__(self, record: dict):
        self.id = record.get("id")
        self.token = record["token"]
        self.held: list[str] = []
        self.confirmed: list[str] = []


class Traffic:
    def __init__(
        self,
        base_url: str,
        customers: list[dict],
        items: list[dict],
        *,
        threads: int = 6,
        duration: float = 30.0,
        max_requests: int = 20_000,
        timeout: float = 15.0,
        retries: int = 2,
        seed: int | None = None,
        keep_alive: bool = True,
    ):
        host = urlsplit(base_url).hostname
        if host not in LOOPBACK:
            raise ValueError(f"the load driver only talks to loopback, not {host}")
        if len(customers) < threads:
            raise ValueError("at least one customer per thread")
        self.base_url = base_url.rstrip("/")
        self.items = items
        self.threads = threads
        self.duration = duration
        self.max_requests = max_requests
        self.timeout = timeout
        self.retries = retries
        # False: a new connection for every request (`Connection: close`), so
        # a request that gets no answer is one a dead server was serving,
        # never one sent on a kept connection the server had already lost.
        self.keep_alive = keep_alive
        self.answers: list[Answer] = []
        self._groups = [[_Customer(c) for c in customers[i::threads]] for i in range(threads)]
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._t0 = 0.0
        self.started_at = 0.0
        self.finished_at = 0.0

    # --- running ---------------------------------------------------------------------

    def __enter__(self) -> Traffic:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._t0 = time.monotonic()
        for i, group in enumerate(self._groups):
            rng = random.Random(self._random.random())
            worker = threading.Thread(
                target=self._run, args=(group, rng), name=f"traffic-{i}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def stop(self) -> None:
        """Stop and wait for the threads (each finishes its request in flight)."""
        self._stop.set()
        deadline = time.monotonic() + self.timeout + 5
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        self.finished_at = self.now()

    def join(self) -> None:
        """Wait until the run ends by itself (duration or request cap)."""
        for worker in self._workers:
            worker.join()
        self.finished_at = self.now()

    def now(self) -> float:
        """Seconds since the run began, on the clock of `Answer.sent`/`done`."""
        return time.monotonic() - self._t0

    def count(self, **where) -> int:
        return len(self.select(**where))

    def select(
        self,
        *,
        op: str | None = None,
        ok: bool | None = None,
        since: float = 0.0,
        until: float = float("inf"),
    ) -> list[Answer]:
        with self._lock:
            answers = list(self.answers)
        return [
            a
            for a in answers
            if (op is None or a.op == op) and (ok is None or a.ok == ok) and since <= a.sent < until
        ]

    def wait_for(self, condition, *, timeout: float, what: str = "traffic condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not true after {timeout:.1f}s")
            if not any(w.is_alive() for w in self._workers):
                raise RuntimeError(f"{what}: the traffic ended first")
            time.sleep(0.05)

    def first_success_after(self, t: float, op: str = "hold") -> float | None:
        """Seconds from `t` until the first successful `op` sent at or after
        `t` was answered; None if there was none."""
        done = [a.done for a in self.select(op=op, ok=True, since=t)]
        return min(done) - t if done else None

    # --- the customers' loop -------------------------------------------------------------

    def _run(self, group: list[_Customer], rng: random.Random) -> None:
        session = requests.Session()
        session.headers["Accept"] = "application/json"
        if not self.keep_alive:
            session.headers["Connection"] = "close"
        deadline = time.monotonic() + self.duration
        turn = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if len(self.answers) >= self.max_requests:
                    return
            customer = group[turn % len(group)]
            turn += 1
            self._act(session, customer, rng)

    def _act(self, session, customer: _Customer, rng: random.Random) -> None:
        roll = rng.random()
        if customer.held and (len(customer.held) >= 3 or roll < 0.45):
            reference = rng.choice(customer.held)
            if rng.random() < 0.65:
                self._confirm(session, customer, reference)
            else:
                self._cancel(session, customer, reference)
        elif customer.confirmed and roll < 0.6:
            self._cancel(session, customer, rng.choice(customer.confirmed))
        else:
            self._hold(session, customer, rng)

    def _hold(self, session, customer: _Customer, rng: random.Random) -> None:
        count = 1 if rng.random() < 0.8 else 2
        body = {"items": rng.sample(self.items, k=min(count, len(self.items)))}
        headers = {"Authorization": f"Token {customer.token}"}
        if rng.random() < 0.5:
            headers["Idempotency-Key"] = f"lt-{uuid.uuid4()}"
        for attempt in range(self.retries + 1):
            answer, data = self._send(session, "hold", "POST", "/api/v1/bookings/", body, headers)
            if answer.status == 201:
                if data["reference"] not in customer.held:
                    customer.held.append(data["reference"])
                return
            if answer.code == "too_many_active_holds":
                self._list_held(session, customer)
                return
            retryable = answer.status is None or answer.status == 503
            if not (retryable and "Idempotency-Key" in headers and attempt < self.retries):
                return
            time.sleep(0.2)  # a client's back-off before retrying the same key

    def _confirm(self, session, customer: _Customer, reference: str) -> None:
        """Pay as a customer does: start a payment, then the sandbox
        provider's signed success webhook (what its checkout page sends)."""
        answer, payment = self._send(
            session,
            "pay",
            "POST",
            f"/api/v1/bookings/{reference}/payments/",
            None,
            self._auth(customer),
        )
        if answer.code in ("hold_expired", "invalid_state", "payment_attempts_exhausted"):
            customer.held.remove(reference)
        if not answer.ok:
            return
        body, headers = sandbox_success(payment)
        answer, _ = self._send_raw(
            session, "confirm", "/api/v1/payments/webhooks/sandbox/", body, headers
        )
        if answer.ok:
            customer.held.remove(reference)
            customer.confirmed.append(reference)

    def _cancel(self, session, customer: _Customer, reference: str) -> None:
        answer, _ = self._send(
            session,
            "cancel",
            "POST",
            f"/api/v1/bookings/{reference}/cancel/",
            None,
            self._auth(customer),
        )
        if answer.status == 200:
            for bucket in (customer.held, customer.confirmed):
                if reference in bucket:
                    bucket.remove(reference)

    def _list_held(self, session, customer: _Customer) -> None:
        """The customer lost track of a hold (its answer never came): ask."""
        answer, data = self._send(
            session,
            "list",
            "GET",
            "/api/v1/bookings/?status=held&page_size=100",
            None,
            self._auth(customer),
        )
        if answer.status == 200:
            customer.held = [b["reference"] for b in data["results"]]

    @staticmethod
    def _auth(customer: _Customer) -> dict:
        return {"Authorization": f"Token {customer.token}"}

    def _send_raw(self, session, op, path, body: bytes, headers) -> tuple[Answer, dict | None]:
        return self._send(session, op, "POST", path, None, headers, raw=body)

    def _send(
        self, session, op, method, path, body, headers, raw: bytes | None = None
    ) -> tuple[Answer, dict | None]:
        sent = self.now()
        data = None
        try:
            response = session.request(
                method,
                self.base_url + path,
                json=body,
                data=raw,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            answer = Answer(op, sent, self.now(), None, client_error=_client_error(exc))
        else:
            done = self.now()
            try:
                data = response.json()
            except ValueError:
                data = None
            code, retry_after, problem = judge(response.status_code, response.headers, data)
            answer = Answer(
                op, sent, done, response.status_code, code, retry_after, problem=problem
            )
        with self._lock:
            self.answers.append(answer)
        return answer, data

    # --- reports ----------------------------------------------------------------------------

    def summary(self, *, phases: dict[str, tuple[float, float]] | None = None) -> dict:
        """Figures for a report: answers by status and code, overall and for
        each phase `{name: (since, until)}`, latencies, contract problems."""
        with self._lock:
            answers = list(self.answers)
        report = _figures(answers)
        report["duration"] = round(self.finished_at or self.now(), 2)
        if phases:
            report["phases"] = {
                name: _figures([a for a in answers if since <= a.sent < until])
                for name, (since, until) in phases.items()
            }
        return report

    def problems(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.problem]

    def client_errors(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.status is None]

    def records(self) -> list[dict]:
        with self._lock:
            return [asdict(a) for a in self.answers]


def _figures(answers: list[Answer]) -> dict:
    latencies = sorted(a.latency for a in answers if a.status is not None)
    problems = [a for a in answers if a.problem]

    def pct(p: float) -> float | None:
        return (
            round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 4)
            if (latencies)
            else None
        )

    return {
        "requests": len(answers),
        "answers": dict(sorted(Counter(a.label for a in answers).items())),
        "by_op": {
            op: dict(sorted(Counter(a.label for a in answers if a.op == op).items()))
            for op in sorted({a.op for a in answers})
        },
        "server_answers": sum(a.status is not None for a in answers),
        "client_errors": sum(a.status is None for a in answers),
        "503_with_retry_after": sum(a.status == 503 and a.retry_after for a in answers),
        "latency_s": {"p50": pct(0.5), "p95": pct(0.95), "max": pct(1.0)},
        "problems": len(problems),
        "problem_examples": sorted({a.problem for a in problems})[:10],
    }


def _client_error(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.ConnectionError):
        return "connection_error"
    return type(exc).__name__
