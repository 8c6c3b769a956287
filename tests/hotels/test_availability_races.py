"""Concurrent availability changes of one room type are serialized: no
duplicate-night crash, and one currency wins."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from config.exceptions import ValidationFailed
from hotels.models import RoomNight
from hotels.services import set_room_availability
from tests.factories import RoomTypeFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def run_together(calls):
    """Start every call at once (a barrier), each on its own connection."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_overlapping_ranges_at_once_all_apply_without_duplicates():
    room_type = RoomTypeFactory()

    def put(rooms):
        return lambda: set_room_availability(
            room_type=room_type,
            start=date(2030, 6, 1),
            end=date(2030, 6, 15),
            total_rooms=rooms,
            price=Decimal("80.00"),
            currency="EUR",
        )

    outcomes = run_together([put(rooms) for rooms in range(1, THREADS + 1)])
    assert outcomes == [14] * THREADS
    nights = RoomNight.objects.filter(room_type=room_type)
    assert nights.count() == 14
    # The last writer set every night: one consistent total, not a mix.
    assert nights.values("total_rooms").distinct().count() == 1


def test_two_currencies_at_once_only_one_wins():
    room_type = RoomTypeFactory()

    def put(currency, month):
        return lambda: set_room_availability(
            room_type=room_type,
            start=date(2030, month, 1),
            end=date(2030, month, 5),
            total_rooms=3,
            price=Decimal("80.00"),
            currency=currency,
        )

    outcomes = run_together([put("EUR" if i % 2 else "USD", month=i + 1) for i in range(THREADS)])
    refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert all(o == 4 for o in outcomes if not isinstance(o, ValidationFailed))
    assert refused, outcomes
    assert RoomNight.objects.filter(room_type=room_type).values("currency").distinct().count() == 1
