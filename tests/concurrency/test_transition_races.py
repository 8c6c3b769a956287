"""Confirm, cancel and expiry racing for one held booking, round after round:
exactly one transition takes it out of `held`, and the counters follow it."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.tokens import issue_token
from bookings.models import Booking, BookingStatusChange
from flights.models import FlightInventory
from tests.concurrency.race import record_figures, run_race
from tests.factories import (
    FlightInventoryFactory,
    RoomTypeFactory,
    StaffFactory,
    put_nights_on_sale,
)
from tests.holds import hold_through_services

pytestmark = pytest.mark.django_db(transaction=True)


def transition_race(make_customers, *, rounds: int, processes: int = 0, name: str):
    """Each round races four workers on one fresh hold: confirm, then cancel
    (even rounds) or a second confirm (odd rounds, so some bookings stay
    confirmed), `expire_bookings` and the sweep `expire_overdue_holds`, both
    running at the booking's `expires_at` (the moment it becomes overdue for
    them, while confirm and cancel still see it in time)."""
    cabin = FlightInventoryFactory(total_seats=500)
    room_type = RoomTypeFactory()
    check_in = date.today() + timedelta(days=4)
    put_nights_on_sale(room_type, check_in, nights=3, rooms=200)
    customers = make_customers((rounds + 2) // 3)
    bookings = []
    for i in range(rounds):
        user, token = customers[i // 3]
        booking = hold_through_services(user, cabin, seats=1 + i % 3, room_type=room_type, nights=2)
        # One minute apart, so a sweep "at" round i's deadline finds only it.
        expires_at = timezone.now() + timedelta(hours=1, minutes=i)
        Booking.objects.filter(pk=booking.pk).update(expires_at=expires_at)
        bookings.append((booking, token, expires_at))

    rng = random.Random(rounds)
    staff_token = issue_token(StaffFactory(is_superuser=True))

    def owner(kind, i):
        # Through the API, or straight to the service every other pair of
        # rounds (the expiry is a bare service call, much quicker to start).
        booking, token, _ = bookings[i]
        return {
            "kind": kind,
            "via": "api" if i % 4 < 2 else "service",
            "token": token,
            "staff_token": staff_token,
            "reference": booking.reference,
            "payment_reference": "PAY-1",
        }

    def expiry(kind, i):
        # A random head start of up to 20 ms for the owner, so each transition
        # wins some rounds; the assertions hold whatever the order.
        booking, _, expires_at = bookings[i]
        return {
            "kind": kind,
            "booking_id": booking.pk,
            "now": expires_at.isoformat(),
            "delay": rng.uniform(0, 0.02),
        }

    workers = [
        [owner("confirm", i) for i in range(rounds)],
        [owner("cancel" if i % 2 == 0 else "confirm", i) for i in range(rounds)],
        [expiry("expire", i) for i in range(rounds)],
        [expiry("sweep", i) for i in range(rounds)],
    ]

    race = run_race(workers, processes=processes)

    winners = Counter()
    for i, (booking, _, _) in enumerate(bookings):
        confirm, second, expire, sweep = (race.results[w][i] for w in range(4))
        history = list(BookingStatusChange.objects.filter(booking=booking).order_by("at", "pk"))
        out_of_held = [h for h in history if h.from_status == "held"]
        assert len(out_of_held) == 1, (i, [str(h) for h in history])
        won = out_of_held[0].to_status
        winners[won] += 1
        booking.refresh_from_db()
        expiries = expire["count"] + sweep["count"]
        context = (i, won, confirm["outcome"], second["outcome"], expiries)
        assert expiries == (won == "expired"), context
        if won == "confirmed":
            assert confirm["outcome"] == "200" or second["outcome"] == "200", context
        else:
            assert confirm["outcome"] == (
                "409 hold_expired" if won == "expired" else "409 invalid_state"
            ), context
        if i % 2 == 0:  # confirm vs cancel vs expiry
            assert second["outcome"] == "200", context
            final = {"confirmed": "cancelled", "released": "released", "expired": "expired"}[won]
            assert booking.status == second["body"]["status"] == final, context
            assert [h.to_status for h in history] == ["held", won] + (
                ["cancelled"] if won == "confirmed" else []
            ), context
        else:  # confirm vs confirm vs expiry
            assert won in ("confirmed", "expired"), context
            expected = "200" if won == "confirmed" else "409 hold_expired"
            assert confirm["outcome"] == second["outcome"] == expected, context
            assert booking.status == won, context
            assert [h.to_status for h in history] == ["held", won], context

    cabin = FlightInventory.objects.get(pk=cabin.pk)
    still_booked = Booking.objects.filter(status="confirmed")
    assert cabin.held_seats == 0
    assert cabin.booked_seats == sum(
        item.seats for b in still_booked for item in b.flight_items.all()
    )
    record_figures(name, race, winners=dict(winners))
    assert set(race.outcomes()) <= {
        "200",
        "409 hold_expired",
        "409 invalid_state",
        "expired 0",
        "expired 1",
        "swept 0",
        "swept 1",
    }
    return winners


@pytest.mark.timeout(60)
def test_confirm_cancel_and_expiry_race_one_winner_threads(make_customers):
    transition_race(make_customers, rounds=40, name="confirm_cancel_expire_threads")
