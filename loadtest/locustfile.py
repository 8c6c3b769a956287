"""The load of `make bench` (loadtest/bench.py), run by Locust in its own
process against a stack on loopback:

    locust -f loadtest/locustfile.py --headless -u 32 -r 32 -t 30s \
        --host http://127.0.0.1:PORT --json

Which workload, and the data it works on (tokens, ids, dates), come from the
JSON file named by BENCH_DATA, written by the bench after seeding. Every
answer is recorded (what was asked, status, error code, latency and, for a
refusal, what it said was left) and written to BENCH_RECORD when Locust
quits, for the bench to compute its figures exactly (Locust's own
percentiles are bucketed).

Workloads (README, "Performance"):

- hot: every customer holds 1-2 seats on one flight cabin, then cancels;
- spread: holds of a flight, a hotel stay of 1-5 nights or both, over a few
  hundred flights and room types, then cancels;
- selloff: customers from a queue each try once to buy (hold, confirm) one
  seat of a cabin that has fewer seats than customers; Locust stops when the
  queue is empty;
- search: flight searches (origin, destination, date) and 3-night hotel
  searches over a year of inventory;
- ceiling: each customer reads its own booking again and again, the
  cheapest authenticated request there is (the token's lookup and one
  select). Its rate is what this machine answers through the whole stack
  (Locust, gunicorn, Django, DRF, PostgreSQL) for the least work a request
  can do: a ceiling over the rates of the other workloads.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit

import gevent
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from tests.faults.stack import sandbox_success

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
BOOKINGS = "/api/v1/bookings/"
WEBHOOK = "/api/v1/payments/webhooks/sandbox/"

DATA: dict = {}
# (op, status or 0 when no answer, code, latency in s, sent at (s since start), extra)
RECORDS: list[tuple] = []
STARTED = time.monotonic()
_next_customer = 0
_in_flight = 0


@events.init.add_listener
def _load(environment, **_kwargs):
    host = urlsplit(environment.host or "").hostname
    if host not in LOOPBACK:
        raise SystemExit(f"the bench only loads loopback, not {host!r}")
    DATA.update(json.loads(open(os.environ["BENCH_DATA"]).read()))  # noqa: SIM115


@events.quitting.add_listener
def _dump(environment, **_kwargs):
    path = os.environ.get("BENCH_RECORD")
    if path:
        with open(path, "w") as out:
            json.dump({"records": RECORDS, "started": STARTED}, out)


def _take_customer() -> dict | None:
    global _next_customer
    customers = DATA["customers"]
    if _next_customer >= len(customers):
        return None
    customer = customers[_next_customer]
    _next_customer += 1
    return customer


def _quit(environment) -> None:
    """Stop the run from outside the user's own greenlet (quit kills them)."""
    gevent.spawn(environment.runner.quit)


class _Customer(FastHttpUser):
    abstract = True
    # No think time: each user is a customer who clicks again as soon as the
    # answer is there (a closed loop), the harshest load for its concurrency.
    connection_timeout = 15.0
    network_timeout = 15.0

    def _send(self, op: str, method: str, path: str, body=None, headers=None, name=None, raw=None):
        """One request, recorded; returns (status, parsed body or None).
        `raw`: bytes sent as they are instead of `body` as JSON."""
        sent = time.monotonic()
        status, data = 0, None
        with self.client.request(
            method,
            path,
            json=body,
            data=raw,
            headers=headers,
            name=name or op,
            catch_response=True,
        ) as response:
            latency = time.monotonic() - sent
            status = response.status_code or 0
            try:
                data = response.json() if response.text else None
            except ValueError:
                data = None
            code = data.get("code") if isinstance(data, dict) else None
            extra = None
            if code == "insufficient_inventory":
                extra = data.get("unavailable")
            if status >= 500 or status == 0:
                response.failure(f"{status} {code}")
            else:
                response.success()  # a refusal is an answer, judged by the bench
        RECORDS.append((op, status, code, latency, sent - STARTED, extra))
        return status, data

    def _auth(self) -> dict:
        return {"Authorization": f"Token {self.customer['token']}"}

    def _hold(self, items: list[dict]):
        headers = self._auth()
        if self.random.random() < DATA.get("idempotency_keys", 0.0):
            headers["Idempotency-Key"] = f"bench-{uuid.uuid4()}"
        return self._send("hold", "POST", BOOKINGS, {"items": items}, headers)

    def _pay(self, reference: str):
        """Pay as a customer does: start a payment, then the sandbox
        provider's signed success (what its checkout page has sent)."""
        status, payment = self._send(
            "pay", "POST", f"{BOOKINGS}{reference}/payments/", None, self._auth(), "pay"
        )
        if status == 201:
            raw, headers = sandbox_success(payment)
            self._send("confirm", "POST", WEBHOOK, None, headers, "confirm", raw=raw)

    def _cancel(self, reference: str):
        return self._send(
            "cancel", "POST", f"{BOOKINGS}{reference}/cancel/", None, self._auth(), "cancel"
        )

    def on_start(self):
        self.random = random.Random()
        self.customer = _take_customer()
        if self.customer is None:
            raise StopUser()


class HotCustomer(_Customer):
    """1-2 seats on the one hot cabin, then cancel (stays under the active-hold
    limit, and keeps seats on sale)."""

    @task
    def hold_and_cancel(self):
        cabin = DATA["cabin"]
        item = {
            "type": "flight",
            "flight_id": cabin["flight_id"],
            "cabin_class": cabin["cabin_class"],
            "seats": self.random.randint(1, 2),
        }
        status, body = self._hold([item])
        if status == 201:
            self._cancel(body["reference"])


class SpreadCustomer(_Customer):
    """A flight, a hotel stay of 1-5 nights, or both, over many rows."""

    def _flight(self) -> dict:
        cabin = self.random.choice(DATA["cabins"])
        return {
            "type": "flight",
            "flight_id": cabin["flight_id"],
            "cabin_class": cabin["cabin_class"],
            "seats": self.random.randint(1, 2),
        }

    def _stay(self) -> dict:
        room_type = self.random.choice(DATA["room_types"])
        nights = self.random.randint(1, 5)
        first = date.fromisoformat(room_type["first_night"])
        start = first + timedelta(days=self.random.randrange(room_type["nights"] - nights + 1))
        return {
            "type": "hotel",
            "room_type_id": room_type["room_type_id"],
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=nights)).isoformat(),
            "rooms": 1,
        }

    @task
    def hold_and_cancel(self):
        roll = self.random.random()
        if roll < 1 / 3:
            items = [self._flight()]
        elif roll < 2 / 3:
            items = [self._stay()]
        else:
            items = [self._flight(), self._stay()]
        status, body = self._hold(items)
        if status == 201:
            self._cancel(body["reference"])


class SelloffCustomer(_Customer):
    """Each Locust user serves customers from the queue, one after another:
    each tries once to buy one seat (hold, then confirm)."""

    def on_start(self):
        self.random = random.Random()
        self.customer = None

    @task
    def buy_one_seat(self):
        global _in_flight
        self.customer = _take_customer()
        if self.customer is None:
            if _in_flight == 0:
                _quit(self.environment)
            raise StopUser()
        _in_flight += 1
        try:
            cabin = DATA["cabin"]
            item = {
                "type": "flight",
                "flight_id": cabin["flight_id"],
                "cabin_class": cabin["cabin_class"],
                "seats": 1,
            }
            status, body = self._hold([item])
            if status == 201:
                self._pay(body["reference"])
        finally:
            _in_flight -= 1
        if _next_customer >= len(DATA["customers"]) and _in_flight == 0:
            _quit(self.environment)


class SearchCustomer(FastHttpUser):
    """Half flight searches (a route on a day), half 3-night hotel searches
    (a city), on random days of the year on sale."""

    connection_timeout = 15.0
    network_timeout = 15.0

    def on_start(self):
        self.random = random.Random()

    def _day(self, last_offset: int) -> date:
        return date.fromisoformat(DATA["first_day"]) + timedelta(
            days=self.random.randrange(last_offset)
        )

    def _get(self, op: str, path: str):
        sent = time.monotonic()
        with self.client.request("GET", path, name=op, catch_response=True) as response:
            latency = time.monotonic() - sent
            status = response.status_code or 0
            if status != 200:
                response.failure(str(status))
            else:
                response.success()
        RECORDS.append((op, status, None, latency, sent - STARTED, None))

    @task
    def flight_search(self):
        origin, destination = self.random.choice(DATA["routes"])
        day = self._day(DATA["days"])
        self._get(
            "flight_search",
            f"/api/v1/flights/?origin={origin}&destination={destination}&date={day}",
        )

    @task
    def hotel_search(self):
        city = self.random.choice(DATA["cities"])
        check_in = self._day(DATA["days"] - 3)
        check_out = check_in + timedelta(days=3)
        self._get(
            "hotel_search",
            f"/api/v1/hotels/?city={city}&check_in={check_in}&check_out={check_out}&rooms=1",
        )


class CeilingCustomer(_Customer):
    """Holds one seat once, unrecorded, then reads that booking again and
    again: the token's lookup and one select, answered 200."""

    def on_start(self):
        super().on_start()
        cabin = DATA["cabin"]
        item = {
            "type": "flight",
            "flight_id": cabin["flight_id"],
            "cabin_class": cabin["cabin_class"],
            "seats": 1,
        }
        answer = self.client.post(BOOKINGS, json={"items": [item]}, headers=self._auth())
        if answer.status_code != 201:
            raise RuntimeError(f"the ceiling's hold answered {answer.status_code}")
        self.reference = answer.json()["reference"]

    @task
    def read_own_booking(self):
        self._send("read", "GET", f"{BOOKINGS}{self.reference}/", headers=self._auth())


USERS = {
    "hot": HotCustomer,
    "spread": SpreadCustomer,
    "selloff": SelloffCustomer,
    "search": SearchCustomer,
    "ceiling": CeilingCustomer,
}

# Locust runs every non-abstract user class in this file: keep the workload's.
for _name, _cls in USERS.items():
    if _name != os.environ.get("BENCH_WORKLOAD"):
        _cls.abstract = True
del _name, _cls  # else Locust finds the last class twice
