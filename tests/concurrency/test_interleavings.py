"""Interleavings a thread race would hit only by luck, forced step by step:
this test's connection holds a row lock in an open transaction, a competitor
thread runs until PostgreSQL shows it waiting for that lock, then the test
commits or rolls back and looks at what the competitor did next."""

import threading
import time
from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingStatusChange, SeatAssignment
from bookings.services import (
    cancel_booking,
    confirm_booking,
    expire_bookings,
    expire_overdue_holds,
)
from events.models import Event
from flights.models import FlightInventory, Seat
from tests.booking_requests import flight_item
from tests.conftest import client_for
from tests.factories import FlightInventoryFactory, seat_mapped_cabin
from tests.holds import hold_through_services, make_overdue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]

WAIT = 10.0  # seconds; far more than any step needs, so only a hang reaches it


class Competitor:
    """Runs `work` in a thread on its own connection; `pid` is that
    connection's PostgreSQL backend, to watch what it waits for."""

    def __init__(self, work):
        self.work = work
        self.result = self.error = self.pid = None
        self.connected = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.connected.wait(WAIT)

    def _run(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.connected.set()
            self.result = self.work()
        except BaseException as exc:
            self.error = exc
        finally:
            connections.close_all()
            self.connected.set()
            self.done.set()

    def wait_until_blocked_on_a_lock(self):
        """Poll pg_stat_activity (a fresh snapshot each time) until the
        competitor's backend waits for a lock; fail after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                assert not self.done.is_set(), f"finished without waiting: {self.outcome()}"
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
                    [self.pid],
                )
                row = cursor.fetchone()
                if row and row[0] == "Lock":
                    return row[1]
                self.done.wait(0.005)  # polling interval, not a rendezvous
        raise AssertionError(f"competitor (pid {self.pid}) never waited for a lock")

    def finish(self):
        assert self.done.wait(WAIT), "competitor still running"
        if self.error:
            raise self.error
        return self.result

    def outcome(self):
        return self.error or self.result


class RolledBack(Exception):
    pass


def held_behind_a_first_hold(customer, other_customer, cabin, first_hold: str) -> Competitor:
    """`other_customer`'s hold of one seat of `cabin` through the API, sent
    while `customer`'s hold of it is open and seen waiting on that hold's
    lock; that hold then commits or rolls back (`first_hold`). Returns the
    competitor, still to finish."""
    competitor_client = client_for(other_customer)
    ends = pytest.raises(RolledBack) if first_hold == "rolls back" else nullcontext()
    with ends, transaction.atomic():
        hold_through_services(customer, cabin)
        competitor = Competitor(
            lambda: competitor_client.post(
                "/api/v1/bookings/", {"items": [flight_item(cabin)]}, format="json"
            )
        )
        assert competitor.wait_until_blocked_on_a_lock() == "transactionid"
        if first_hold == "rolls back":
            raise RolledBack()
    return competitor


@pytest.mark.parametrize("first_hold", ["commits", "rolls back"])
def test_a_hold_decides_on_the_seats_left_once_it_has_the_row(customer, other_customer, first_hold):
    """The competitor reads the last seat only after the first hold ends: it is
    refused if that hold committed, and gets the seat if it rolled back."""
    cabin = FlightInventoryFactory(total_seats=1)
    response = held_behind_a_first_hold(customer, other_customer, cabin, first_hold).finish()
    cabin.refresh_from_db()
    if first_hold == "commits":
        assert response.status_code == 409
        assert response.json()["unavailable"] == [{"item": 0, "requested": 1, "available": 0}]
        assert Booking.objects.get().customer == customer
    else:
        assert response.status_code == 201
        assert Booking.objects.get().customer == other_customer
    assert (cabin.available_seats, cabin.held_seats) == (0, 1)


@pytest.mark.parametrize("first_hold", ["commits", "rolls back"])
def test_a_seat_pick_waits_for_the_cabin_and_takes_the_next_free_seat(
    customer, other_customer, first_hold
):
    """Seats are read, not locked: a second pick on the cabin waits for the
    first hold's cabin row, then reads the seats as that hold left them (the
    next seat if it committed, the same one if it rolled back), never the
    seat the first hold is taking."""
    cabin = seat_mapped_cabin(rows=2)
    response = held_behind_a_first_hold(customer, other_customer, cabin, first_hold).finish()
    assert response.status_code == 201, response.json()
    expected = ["10B"] if first_hold == "commits" else ["10A"]
    assert response.json()["items"][0]["seat_numbers"] == expected
    active = SeatAssignment.objects.filter(active=True)
    assert sorted(active.values_list("seat__number", flat=True)) == sorted({"10A", *expected})


@pytest.mark.parametrize("seat_numbers", [(), ("11B",)], ids=["picked", "chosen"])
def test_a_hold_taking_seats_leaves_every_seat_row_unlocked(customer, seat_numbers):
    """The cabin's row lock serializes whoever takes the cabin's seats, so a
    hold locks no seat row: while it is open, another transaction can lock
    every seat of the cabin (a pick used to lock all the seats it read)."""
    cabin = seat_mapped_cabin(rows=20)
    item = services.FlightRequest(cabin.flight_id, cabin.cabin_class, 1, seat_numbers)

    def lockable_seats() -> int:
        with transaction.atomic():
            seats = Seat.objects.select_for_update(no_key=True, skip_locked=True)
            return len(seats.filter(inventory=cabin))

    with transaction.atomic():
        services.hold_booking(customer=customer, items=[item])
        assert Competitor(lockable_seats).finish() == cabin.total_seats == 120


def test_rows_are_locked_in_key_order_whatever_the_request_order(customer, other_customer):
    """A hold asking for cabin B then cabin A waits for A, which this test
    holds, without having taken B: it locks by key, not by request order."""
    cabin_a = FlightInventoryFactory(total_seats=5)
    cabin_b = FlightInventoryFactory(total_seats=5)
    assert cabin_a.pk < cabin_b.pk
    competitor_client = client_for(other_customer)

    with transaction.atomic():
        FlightInventory.objects.select_for_update().get(pk=cabin_a.pk)
        competitor = Competitor(
            lambda: competitor_client.post(
                "/api/v1/bookings/",
                {"items": [flight_item(cabin_b), flight_item(cabin_a)]},
                format="json",
            )
        )
        competitor.wait_until_blocked_on_a_lock()
        # B is free: taking it at once (NOWAIT) succeeds.
        FlightInventory.objects.select_for_update(nowait=True).get(pk=cabin_b.pk)

    assert competitor.finish().status_code == 201


def test_cancel_that_waited_for_a_confirm_is_recorded_after_it(customer):
    """Cancel arrives while a confirm holds the booking: it cancels the
    confirmed booking, and its time comes after the confirmation's, in the
    booking and in the history."""
    cabin = FlightInventoryFactory(total_seats=5)
    booking = hold_through_services(customer, cabin)

    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=booking.pk)
        competitor = Competitor(lambda: cancel_booking(booking=booking, actor=customer))
        competitor.wait_until_blocked_on_a_lock()
        confirm_booking(booking=booking, payment_reference="PAY-1", actor=customer)

    assert competitor.finish().status == "cancelled"
    booking.refresh_from_db()
    assert booking.confirmed_at <= booking.cancelled_at
    history = BookingStatusChange.objects.filter(booking=booking).order_by("at", "pk")
    assert [(h.from_status, h.to_status) for h in history] == [
        ("", "held"),
        ("held", "confirmed"),
        ("confirmed", "cancelled"),
    ]


def test_confirm_that_waited_past_the_deadline_is_refused(customer):
    """A confirm asked just before `expires_at` waits for the booking's lock
    until after it: when it gets the booking, the hold is over."""
    cabin = FlightInventoryFactory(total_seats=5)
    booking = hold_through_services(customer, cabin)

    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=booking.pk)
        competitor = Competitor(
            lambda: confirm_booking(booking=booking, payment_reference="PAY-1", actor=customer)
        )
        competitor.wait_until_blocked_on_a_lock()
        # The deadline passes while the confirm waits.
        Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now())

    with pytest.raises(Exception) as refused:
        competitor.finish()
    assert getattr(refused.value, "code", None) == "hold_expired", refused.value
    booking.refresh_from_db()
    assert booking.status == "expired"
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats, cabin.booked_seats) == (5, 0, 0)


def test_expiry_skips_a_booking_being_changed_and_takes_it_afterwards(customer):
    """The sweep never waits for a booking another transaction holds (it is
    changing it); the next sweep expires it if it is still held and overdue."""
    cabin = FlightInventoryFactory(total_seats=5)
    booking = hold_through_services(customer, cabin)
    later = booking.expires_at + timedelta(seconds=1)

    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=booking.pk)
        competitor = Competitor(
            lambda: (
                expire_bookings(booking_ids=[booking.pk], now=later),
                expire_overdue_holds(now=later),
            )
        )
        assert competitor.finish() == (0, 0)

    assert expire_overdue_holds(now=later) == 1
    booking.refresh_from_db()
    assert booking.status == "expired"


def test_a_hold_waits_for_an_expired_hold_another_request_is_releasing(customer, other_customer):
    """The only seat sits under an overdue hold that another request is
    releasing right now (this test, with the booking locked): the hold waits
    for that release and takes the seat, instead of answering "sold out"."""
    cabin = FlightInventoryFactory(total_seats=1)
    stale = hold_through_services(customer, cabin)
    make_overdue(stale)
    competitor_client = client_for(other_customer)

    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=stale.pk)
        competitor = Competitor(
            lambda: competitor_client.post(
                "/api/v1/bookings/", {"items": [flight_item(cabin)]}, format="json"
            )
        )
        competitor.wait_until_blocked_on_a_lock()
        assert expire_bookings(booking_ids=[stale.pk]) == 1

    response = competitor.finish()
    assert response.status_code == 201, response.json()
    stale.refresh_from_db()
    assert stale.status == "expired"
    assert stale.history.filter(from_status="held").count() == 1


def test_a_refund_never_waits_for_a_booking_another_transaction_holds(customer, client):
    """A refund takes its payment's row alone. Were it to take the booking's
    too, it would wait for whoever holds the booking while holding the payment:
    a deadlock as soon as that one asks for the payment."""
    from payments.models import Payment
    from payments.refunds import refund_cancellations
    from payments.services import start_payment
    from tests.payments.conftest import post_webhook

    booking = hold_through_services(customer, FlightInventoryFactory(total_seats=5))
    payment = start_payment(booking=booking, actor=customer).payment
    assert post_webhook(client, payment).status_code == 200
    cancel_booking(booking=booking, actor=customer)
    cancelled = Event.objects.get(
        type="booking.cancelled", data__booking__reference=booking.reference
    )

    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=booking.pk)
        refund = Competitor(lambda: transaction.atomic()(refund_cancellations)([cancelled]))
        assert refund.done.wait(WAIT), "the refund waited for the booking's lock"
        Payment.objects.select_for_update(nowait=True).get(pk=payment.pk)  # free once it ends

    refund.finish()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
