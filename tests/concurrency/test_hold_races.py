"""Holds racing for the same seats and rooms through the HTTP API, each racer
its own customer, thread and PostgreSQL connection, released by one barrier."""

import random
from datetime import date, timedelta

import pytest

from hotels.models import RoomNight
from tests.booking_requests import flight_item, hotel_item
from tests.concurrency.race import record_figures, run_race
from tests.factories import FlightInventoryFactory, RoomTypeFactory, put_nights_on_sale
from tests.holds import hold_through_services, make_overdue

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = "409 insufficient_inventory"


def hold(token: str, *items: dict) -> dict:
    return {"kind": "hold", "token": token, "body": {"items": list(items)}}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("redis_row_locks", [False, True], ids=["row-locks", "redis-row-locks"])
def test_one_seat_fifty_holds_exactly_one_wins(make_customers, settings, redis_row_locks):
    settings.INVENTORY_REDIS_LOCKS = redis_row_locks
    # Fifty holds queue on one cabin's lock: on a loaded machine the last may
    # wait past the default LOCK_WAIT_SECONDS and answer 503, which is safe but
    # not what this test is about (who wins).
    settings.LOCK_WAIT_SECONDS = 30
    cabin = FlightInventoryFactory(total_seats=1)
    customers = make_customers(50)

    race = run_race([[hold(token, flight_item(cabin))] for _, token in customers])

    record_figures(f"one_seat_fifty_holds_{'redis' if redis_row_locks else 'db'}", race)
    assert race.outcomes() == {"201": 1, REFUSED: 49}
    for answer in race.answers():
        if answer["status"] == 409:
            assert answer["body"]["unavailable"] == [{"item": 0, "requested": 1, "available": 0}]
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats, cabin.booked_seats) == (0, 1, 0)


def random_size_race(make_customers, *, processes: int = 0, seed: int = 20261224):
    """Holds of 1 to 9 seats from many customers on one cabin, more demand than
    seats; 16 racers × 6 rounds, each customer at most twice (of 5 allowed)."""
    rng = random.Random(seed)
    seats, racers, rounds = 150, 16, 6
    cabin = FlightInventoryFactory(total_seats=seats)
    customers = make_customers(racers * 3)
    workers = [
        [
            hold(
                customers[(w + racers * r) % len(customers)][1],
                flight_item(cabin, rng.randint(1, 9)),
            )
            for r in range(rounds)
        ]
        for w in range(racers)
    ]
    demand = sum(job["body"]["items"][0]["seats"] for jobs in workers for job in jobs)
    assert demand > seats

    race = run_race(workers, processes=processes)

    cabin.refresh_from_db()
    sold = sum(a["body"]["items"][0]["seats"] for a in race.answers() if a["status"] == 201)
    refusals = [a["body"]["unavailable"][0] for a in race.answers() if a["status"] == 409]
    figures = record_figures(
        f"random_sizes_{'threads' if not processes else 'processes'}",
        race,
        seats=seats,
        seats_demanded=demand,
        seats_sold=sold,
        seats_left=cabin.available_seats,
        seed=seed,
    )
    assert set(race.outcomes()) <= {"201", REFUSED}, figures
    # No oversell, and the counters are the sum of what was answered 201.
    assert (cabin.held_seats, cabin.available_seats) == (sold, seats - sold)
    # No refusal while enough seats were left. Nothing was released during the
    # race, so `available` only went down: a refusal decided on `available`
    # seats saw at least what is left at the end, and was right only if it
    # asked for more than that.
    for refusal in refusals:
        assert refusal["available"] < refusal["requested"], refusal
        assert refusal["available"] >= cabin.available_seats, refusal
        assert refusal["requested"] > cabin.available_seats, refusal
    # Demand exceeded the seats: the cabin is sold out, up to less than the
    # smallest refused request.
    assert cabin.available_seats < min(r["requested"] for r in refusals)


@pytest.mark.timeout(60)
def test_random_sizes_never_oversell_nor_refuse_while_seats_are_left(make_customers):
    random_size_race(make_customers)


def stay_nights(body_item: dict) -> list[date]:
    check_in = date.fromisoformat(body_item["check_in"])
    nights = (date.fromisoformat(body_item["check_out"]) - check_in).days
    return [check_in + timedelta(days=i) for i in range(nights)]


@pytest.mark.timeout(60)
def test_overlapping_stays_never_oversell_a_night(make_customers):
    """Random stays of 1 to 4 nights and 1 to 3 rooms over ten nights of 6
    rooms, one of them (the 5th) with only 2."""
    rng = random.Random(1224)
    room_type = RoomTypeFactory()
    first = date.today() + timedelta(days=5)
    nights = put_nights_on_sale(room_type, first, nights=10, rooms=6)
    RoomNight.objects.filter(pk=nights[4].pk).update(total_rooms=2, available_rooms=2)
    racers, rounds = 16, 4
    customers = make_customers(racers * 2)

    def random_stay(token):
        length = rng.randint(1, 4)
        start = first + timedelta(days=rng.randint(0, 10 - length))
        return hold(
            token, hotel_item(room_type, check_in=start, nights=length, rooms=rng.randint(1, 3))
        )

    workers = [
        [random_stay(customers[(w + racers * r) % len(customers)][1]) for r in range(rounds)]
        for w in range(racers)
    ]

    race = run_race(workers)

    left = dict(
        RoomNight.objects.filter(room_type=room_type).values_list("date", "available_rooms")
    )
    record_figures("overlapping_stays", race, rooms_left=sorted(left.values()))
    assert set(race.outcomes()) <= {"201", REFUSED}
    assert race.outcomes()["201"] and race.outcomes()[REFUSED]
    for answer in race.answers():
        if answer["status"] != 409:
            continue
        (refusal,) = answer["body"]["unavailable"]
        requested = refusal["requested"]
        assert refusal["available"] < requested
        # Refused rightly only if one of its nights had too few rooms then,
        # and so still has too few now (nothing was released in the race).
        item = answer["job"]["body"]["items"][0]
        assert min(left[night] for night in stay_nights(item)) < requested, (refusal, item)
    # Every night's counters equal the rooms of the 201 stays covering it (and
    # the autouse ledger check repeats this for every row): a refused stay
    # moved no night at all.
    for night, available in left.items():
        taken = sum(
            a["body"]["items"][0]["rooms"]
            for a in race.answers()
            if a["status"] == 201 and night in stay_nights(a["body"]["items"][0])
        )
        total = 2 if night == nights[4].date else 6
        assert available == total - taken >= 0


@pytest.mark.timeout(60)
def test_a_stay_over_a_full_night_moves_no_night(make_customers):
    """Twelve stays of different lengths all cover the one-room 5th night:
    one wins it, and the eleven others leave every one of their other nights
    untouched, while eight stays beside that night all get their rooms."""
    room_type = RoomTypeFactory()
    first = date.today() + timedelta(days=5)
    nights = put_nights_on_sale(room_type, first, nights=10, rooms=10)
    full_night = nights[4].date
    RoomNight.objects.filter(pk=nights[4].pk).update(total_rooms=1, available_rooms=1)
    customers = iter(make_customers(20))
    over = [
        hold(
            next(customers)[1],
            hotel_item(room_type, check_in=first + timedelta(days=start), nights=length),
        )
        for start, length in [(0, 5), (0, 10), (1, 4), (2, 3), (3, 2), (4, 1), (4, 6), (3, 7)]
        + [(2, 6), (1, 5), (4, 2), (0, 6)]
    ]
    beside = [
        hold(
            next(customers)[1],
            hotel_item(room_type, check_in=first + timedelta(days=start), nights=length),
        )
        for start, length in [(0, 4), (1, 3), (2, 2), (3, 1), (5, 5), (5, 1), (6, 3), (8, 2)]
    ]

    race = run_race([[job] for job in over + beside])

    record_figures("stay_over_a_full_night", race)
    answers = {id(a["job"]): a for a in race.answers()}
    assert [answers[id(job)]["outcome"] for job in beside] == ["201"] * len(beside)
    over_outcomes = sorted(answers[id(job)]["outcome"] for job in over)
    assert over_outcomes == ["201"] + [REFUSED] * (len(over) - 1)
    won = [a["job"]["body"]["items"][0] for a in race.answers() if a["status"] == 201]
    for night in RoomNight.objects.filter(room_type=room_type):
        covering = sum(1 for item in won if night.date in stay_nights(item))
        assert night.held_rooms == covering, night.date
    assert RoomNight.objects.get(room_type=room_type, date=full_night).available_rooms == 0


@pytest.mark.timeout(60)
def test_opposite_request_orders_never_deadlock(make_customers):
    """Half the racers ask for cabin A then cabin B then room type X then Y,
    the other half for the reverse; rows are locked in one global order
    whatever the request order, so every hold goes through."""
    cabin_a = FlightInventoryFactory(total_seats=1000)
    cabin_b = FlightInventoryFactory(total_seats=1000)
    assert cabin_a.pk < cabin_b.pk
    room_x, room_y = RoomTypeFactory(), RoomTypeFactory()
    check_in = date.today() + timedelta(days=3)
    for room_type in (room_x, room_y):
        put_nights_on_sale(room_type, check_in, nights=3, rooms=1000)
    forward = [
        flight_item(cabin_a),
        flight_item(cabin_b),
        hotel_item(room_x, check_in=check_in, nights=3),
        hotel_item(room_y, check_in=check_in, nights=3),
    ]
    racers, rounds = 8, 10
    # A customer may have 5 holds at once: 2 customers per racer.
    customers = make_customers(racers * 2)
    workers = [
        [
            hold(customers[w * 2 + r % 2][1], *(forward if w % 2 else forward[::-1]))
            for r in range(rounds)
        ]
        for w in range(racers)
    ]
    deadlocks_before = _deadlocks()

    race = run_race(workers)

    record_figures("opposite_orders", race)
    assert race.outcomes() == {"201": racers * rounds}
    assert _deadlocks() == deadlocks_before
    n = racers * rounds
    for cabin in (cabin_a, cabin_b):
        cabin.refresh_from_db()
        assert cabin.held_seats == n
    assert set(
        RoomNight.objects.filter(room_type__in=[room_x, room_y]).values_list(
            "held_rooms", flat=True
        )
    ) == {n}


def _deadlocks() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.timeout(60)
def test_holds_racing_over_an_expired_hold_get_every_seat_it_sat_on(make_customers):
    """An overdue hold sits on all ten seats; ten customers race for one each.
    Each may find the expired hold in its way: it must be released exactly
    once, and nobody told "sold out" while its seats were still to be had."""
    seats = 10
    cabin = FlightInventoryFactory(total_seats=seats)
    (owner, _), *customers = make_customers(seats + 1)
    stale = hold_through_services(owner, cabin, seats=seats)
    make_overdue(stale)

    race = run_race([[hold(token, flight_item(cabin))] for _, token in customers])

    record_figures("holds_over_an_expired_hold", race)
    stale.refresh_from_db()
    assert stale.status == "expired"
    assert stale.history.filter(from_status="held").count() == 1
    assert race.outcomes() == {"201": seats}
