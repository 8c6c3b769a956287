"""One size, already loaded: the scale benchmark's search and changelist
requests timed one at a time in-process (Django's test client, the whole
middleware stack, no HTTP), with each one's query count and, on request,
the EXPLAIN (ANALYZE, BUFFERS) of its statements. For checking a change
against a database `seed_scale` filled once, without `make bench
WORKLOAD=scale` loading it again per size (README, "Scale").

    ALLOWED_HOSTS=testserver SEARCH_CACHE_SECONDS=0 THROTTLING=off DEBUG=off \\
        .venv/bin/python manage.py shell < loadtest/scale_probe.py

PROBE_SAMPLES (50), PROBE_SEED (17: the requests loadtest/scale.py draws),
PROBE_OPS (flight,hotel,admin_bookings,admin_cabins,admin_room_nights),
PROBE_EXPLAIN=1. A new seed draws days and cities whose pages PostgreSQL has
not read yet.
"""

import json
import os
import random
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from flights.models import Flight
from hotels.models import Hotel
from loadtest.bench import percentile
from loadtest.scale import ADMIN_PAGES


def requests_of(samples: int, seed: int) -> dict[str, list[str]]:
    """The searches loadtest/scale.py makes, over the loaded routes and cities."""
    scale_flights = Flight.objects.filter(flight_number__startswith="SC")
    routes = list(scale_flights.values_list("origin", "destination").distinct()[:50])
    first = scale_flights.order_by("departure_date").values_list("departure_date", flat=True)[0]
    cities = sorted(
        set(Hotel.objects.filter(name__startswith="Scale").values_list("city", flat=True))
    )
    chance = random.Random(seed)
    flights, hotels = [], []
    for _ in range(samples):
        origin, destination = chance.choice(routes)
        day = first + timedelta(days=chance.randrange(365))
        flights.append(f"/api/v1/flights/?origin={origin}&destination={destination}&date={day}")
        check_in = first + timedelta(days=chance.randrange(362))
        city = chance.choice(cities[:50]).replace(" ", "%20")
        hotels.append(
            f"/api/v1/hotels/?city={city}&check_in={check_in}"
            f"&check_out={check_in + timedelta(days=3)}&rooms=2"
        )
    pages = {name: [path] * max(5, samples // 2) for name, path in ADMIN_PAGES.items()}
    return {"flight": flights, "hotel": hotels, **pages}


def explain(statements: list[dict]) -> None:
    for query in statements:
        print("--", query["time"], query["sql"])
        if query["sql"].lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print("\n".join(row[0] for row in cursor.fetchall()))


def probe() -> dict:
    samples = int(os.environ.get("PROBE_SAMPLES", "50"))
    seed = int(os.environ.get("PROBE_SEED", "17"))
    ops = os.environ.get("PROBE_OPS", "flight,hotel," + ",".join(ADMIN_PAGES)).split(",")
    staff, _ = get_user_model().objects.get_or_create(
        username="scale-probe", defaults={"is_staff": True, "is_superuser": True}
    )
    api, admin = Client(), Client()
    admin.force_login(staff)
    paths_of = requests_of(samples, seed)
    results = {}
    for name in ops:
        client = admin if name.startswith("admin") else api
        paths = paths_of[name]
        with CaptureQueriesContext(connection) as captured:
            assert client.get(paths[0]).status_code == 200, paths[0]
        # Read now: the next request's start empties the connection's log.
        statements = list(captured)
        if os.environ.get("PROBE_EXPLAIN") == "1":
            print(f"===== {name} {paths[0]}: {len(statements)} queries")
            explain(statements)
        times = []
        for path in paths[1:]:
            started = time.perf_counter()
            answer = client.get(path)
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200, (path, answer.status_code)
        results[name] = {
            "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95),
            "samples": len(times),
            "queries": len(statements),
        }
    return results


print(json.dumps(probe()))
