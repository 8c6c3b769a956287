"""A payment that succeeds after its hold ended, on a cabin with a seat map
(docs/api.md, Payments and Seat maps): the booking is confirmed with its own
seats again when they are still free, with other seats picked as a hold picks
them when one was taken meanwhile, and refunded in full with nothing moved
when the cabin has no seats left. The answer, the `booking.confirmed` event
and the email show the seats the booking has; `reconcile_inventory`'s checks
find nothing after each."""

import pytest
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from bookings.models import BookingStatus, SeatAssignment
from bookings.services import cancel_booking, expire_bookings
from bookings.services import hold_booking as hold
from bookings.services.requests import FlightRequest
from events import emails
from events.models import CustomerEmail, Event
from events.services import relay_pending
from payments import services
from payments.models import Refund
from tests.booking_requests import booking_url
from tests.factories import seat_mapped_cabin
from tests.holds import make_overdue
from tests.invariants import assert_inventory_consistent
from tests.payments.conftest import post_webhook


def hold_seats(customer, cabin, *numbers: str, seats: int = 0):
    """A hold of these seats of `cabin` (or `seats` the service picks)."""
    item = FlightRequest(cabin.flight_id, cabin.cabin_class, seats or len(numbers), numbers)
    return hold(customer=customer, items=[item]).booking


def seat_numbers(booking) -> list[str]:
    return list(
        SeatAssignment.objects.filter(booking=booking, active=True)
        .order_by("seat__row", "seat__column")
        .values_list("seat__number", flat=True)
    )


def counters(cabin) -> tuple[int, int, int]:
    cabin.refresh_from_db()
    return cabin.available_seats, cabin.held_seats, cabin.booked_seats


def end(booking, how: str, customer) -> None:
    """End the hold: the sweep expires it, the customer releases it, or it is
    only overdue (the webhook's own confirm expires it, in its transaction)."""
    if how == "released":
        cancel_booking(booking=booking, actor=customer)
        return
    make_overdue(booking)
    if how == "expired":
        expire_bookings(booking_ids=[booking.pk])


def confirmed_seats_everywhere(booking, customer_client) -> list[str]:
    """The booking's seats as its answer, its `booking.confirmed` event and
    its email show them: the same list, or the test fails."""
    answer = customer_client.get(booking_url(booking.reference)).json()
    (shown,) = [item["seat_numbers"] for item in answer["items"]]
    event = Event.objects.get(type="booking.confirmed", data__booking__reference=booking.reference)
    assert event.data["booking"]["items"][0]["seat_numbers"] == shown
    relay_pending()
    mail.outbox.clear()
    for pk in CustomerEmail.objects.filter(kind="booking_confirmed").values_list("pk", flat=True):
        emails.send(pk)
    (message,) = mail.outbox
    listed = ", ".join(shown)
    assert f"2 seats ({listed})" in message.body
    assert f"2 seats ({listed})" in message.alternatives[0].content
    return shown


@pytest.mark.parametrize("how", ["expired", "released", "overdue"])
def test_a_late_payment_takes_back_its_own_seats_when_they_are_free(
    client, customer_client, customer, how
):
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "11B", "11C")
    payment = services.start_payment(booking=booking, actor=customer).payment
    end(booking, how, customer)
    assert post_webhook(client, payment).status_code == 200

    booking.refresh_from_db()
    assert (booking.status, booking.payment_reference) == (BookingStatus.CONFIRMED, payment.id)
    assert seat_numbers(booking) == ["11B", "11C"]
    assert confirmed_seats_everywhere(booking, customer_client) == ["11B", "11C"]
    assert counters(cabin) == (16, 0, 2)
    assert not Refund.objects.exists()
    assert_inventory_consistent()


def test_a_late_payment_whose_seat_was_taken_gets_other_seats(
    client, customer_client, customer, other_customer
):
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "10A", "10B")
    payment = services.start_payment(booking=booking, actor=customer).payment
    end(booking, "expired", customer)
    hold_seats(other_customer, cabin, "10B")
    assert post_webhook(client, payment).status_code == 200

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    # Picked as a hold picks: side by side, front first (10A and 10C are two
    # apart around the taken 10B, and an aisle lies between 10C and 10D).
    assert seat_numbers(booking) == ["10D", "10E"]
    assert confirmed_seats_everywhere(booking, customer_client) == ["10D", "10E"]
    assert (
        not SeatAssignment.objects.filter(active=True)
        .values("seat")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert counters(cabin) == (15, 1, 2)
    assert_inventory_consistent()


def test_a_late_payment_with_no_seat_left_is_refunded_and_moves_nothing(
    client, customer, other_customer
):
    cabin = seat_mapped_cabin(rows=1, columns="AB")
    booking = hold_seats(customer, cabin, "10A")
    payment = services.start_payment(booking=booking, actor=customer).payment
    end(booking, "expired", customer)
    other = hold_seats(other_customer, cabin, seats=2)
    before = list(SeatAssignment.objects.order_by("pk").values())

    assert post_webhook(client, payment).status_code == 200
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
    assert list(SeatAssignment.objects.order_by("pk").values()) == before
    assert seat_numbers(other) == ["10A", "10B"]
    assert counters(cabin) == (0, 2, 0)
    refunded = Event.objects.get(type="payment.refunded")
    assert refunded.data["booking"]["items"][0]["seat_numbers"] == []
    assert_inventory_consistent()


def test_the_late_confirm_locks_the_booking_once(client, customer):
    """The webhook locks the payment and its booking in one statement; the
    ended hold's confirm works on that booking, without locking it again."""
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "12A")
    payment = services.start_payment(booking=booking, actor=customer).payment
    end(booking, "released", customer)
    with CaptureQueriesContext(connection) as captured:
        assert post_webhook(client, payment).status_code == 200
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    locks = [
        q["sql"]
        for q in captured.captured_queries
        if "FOR UPDATE" in q["sql"] and '"bookings_booking"' in q["sql"].split("FOR UPDATE")[1]
    ]
    assert len(locks) == 1, locks
