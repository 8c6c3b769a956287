"""Python function calls per hold+cancel pair, by the project function that
made them: a figure that does not move with the machine's mood, for comparing
two trees' hot paths (README, Performance). Through Django's test client, on
the database and Redis the settings name, with the production middleware:

    DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=... \\
    DATABASE_URL=... REDIS_URL=... ALLOWED_HOSTS=127.0.0.1 THROTTLING=off \\
    MAX_ACTIVE_HOLDS_PER_CUSTOMER=1000 .venv/bin/python -m loadtest.call_count [pairs]

Each call is counted under the innermost frame of the project's own code
above it (a Django or DRF call made for `lock_cabins` counts under it)."""

import os
import sys
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def main(pairs: int = 50) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.tokens import issue_token
    from tests.factories import FlightInventoryFactory

    call_command("migrate", verbosity=0)
    cabin = FlightInventoryFactory(total_seats=100_000, flight__flight_number=_unique("CC"))
    user = get_user_model().objects.create_user(_unique("calls"), password="x")
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}", HTTP_HOST="127.0.0.1")
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}

    def pair():
        held = client.post("/api/v1/bookings/", {"items": [item]}, content_type="application/json")
        assert held.status_code == 201, held.content
        url = f"/api/v1/bookings/{held.json()['reference']}/cancel/"
        assert client.post(url, {}, content_type="application/json").status_code == 200

    for _ in range(20):  # warm: first-request imports and caches
        pair()
    calls = Counter()
    sys.setprofile(_counter(calls))
    for _ in range(pairs):
        pair()
    sys.setprofile(None)
    print(f"{sum(calls.values()) / pairs:.0f} calls per hold+cancel pair")
    for where, count in calls.most_common(25):
        print(f"{count / pairs:8.0f}  {where}")


def _counter(calls: Counter):
    def ours(frame) -> bool:
        name = frame.f_code.co_filename
        return name.startswith(ROOT) and f"{os.sep}.venv{os.sep}" not in name

    def profile(frame, event, arg):
        if event not in ("call", "c_call"):
            return
        while frame is not None and not ours(frame):
            frame = frame.f_back
        if frame is None:
            calls["(outside the project)"] += 1
        else:
            calls[f"{frame.f_code.co_filename[len(ROOT) :]}:{frame.f_code.co_name}"] += 1

    return profile


def _unique(prefix: str) -> str:
    return f"{prefix}{time.time_ns() % 100_000}"  # a flight number is at most 7 characters


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
