"""Payments under races (docs/api.md, Payments), on committed data seen by
real threads with their own PostgreSQL connections, started together at a
barrier: outcomes of one payment arriving together, and payments started
together for one booking."""

import threading
import time
from collections import Counter

from django.db import connection

from bookings.models import Booking
from config.exceptions import DomainError
from events.models import Event
from payments import services
from payments.models import Payment, ProcessedWebhook
from payments.providers.sandbox import outcome_message, signed
from tests.factories import FlightInventoryFactory
from tests.holds import hold_through_services


def together(jobs):
    """Run the jobs in threads released at once; what each returned or raised."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait(timeout=30)
            results[i] = job()
        except DomainError as exc:
            results[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def webhook(payment, kind, webhook_id):
    reason = "card_declined" if kind == "payment.failed" else ""
    body, headers = signed(outcome_message(payment, kind, reason), webhook_id=webhook_id)
    return lambda: services.handle_webhook(provider_name="sandbox", body=body, headers=headers)


def test_success_and_failure_twice_each_at_once_have_one_outcome(make_customers):
    cabin = FlightInventoryFactory(total_seats=20)
    for round_ in range(6):
        ((customer, _),) = make_customers(1)
        booking = hold_through_services(customer, cabin, seats=1)
        payment = services.start_payment(booking=booking, actor=customer).payment
        kinds = ["payment.succeeded", "payment.failed"] * 2
        if round_ % 2:
            kinds.reverse()
        # Each outcome sent twice under one webhook id, as a retrying provider does.
        jobs = [webhook(payment, kind, f"msg_{round_}_{i % 2}") for i, kind in enumerate(kinds)]
        jobs += [webhook(payment, kind, f"msg_{round_}_{i % 2}") for i, kind in enumerate(kinds)]
        assert together(jobs) == [None] * len(jobs)

        payment.refresh_from_db()
        booking.refresh_from_db()
        assert payment.status in ("succeeded", "failed")
        expected = "confirmed" if payment.status == "succeeded" else "held"
        assert booking.status == expected, (round_, payment.status, booking.status)
        kinds_written = Counter(
            Event.objects.filter(data__payment__id=payment.id).values_list("type", flat=True)
        )
        assert kinds_written == {f"payment.{payment.status}": 1}
        assert Booking.objects.get(pk=booking.pk).history.filter(to_status="confirmed").count() == (
            1 if expected == "confirmed" else 0
        )
        assert ProcessedWebhook.objects.filter(payment=payment).count() == 2


def test_payments_started_at_once_for_one_booking_make_one(make_customers):
    cabin = FlightInventoryFactory(total_seats=20)
    ((customer, _),) = make_customers(1)
    booking = hold_through_services(customer, cabin, seats=1)

    def start():
        result = services.start_payment(booking=Booking.objects.get(pk=booking.pk), actor=customer)
        return result.payment.id, result.created

    results = together([start] * 6)
    assert len({payment_id for payment_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert Payment.objects.filter(booking=booking).count() == 1


def test_success_racing_the_sweep_and_the_release_confirms_or_refunds(make_customers):
    """Each round: the success webhook, the expiry sweep (at a time past the
    hold's end) and the customer's release, together. The booking ends
    confirmed with its units booked once, or the payment is refunded in full;
    the counters agree with the bookings (checked after the test)."""
    from datetime import timedelta

    from django.utils import timezone

    from bookings.services import cancel_booking, expire_bookings

    cabin = FlightInventoryFactory(total_seats=30)
    outcomes = Counter()
    for round_ in range(8):
        ((customer, _),) = make_customers(1)
        booking = hold_through_services(customer, cabin, seats=2)
        payment = services.start_payment(booking=booking, actor=customer).payment
        later = timezone.now() + timedelta(hours=2)
        jobs = [
            webhook(payment, "payment.succeeded", f"msg_{round_}"),
            lambda b=booking, t=later: expire_bookings(booking_ids=[b.pk], now=t, wait=True),
            lambda b=booking, c=customer: cancel_booking(
                booking=Booking.objects.get(pk=b.pk), actor=c
            ),
        ]
        if round_ % 4 == 0:  # a head start for the webhook in some rounds, so each side wins some
            jobs[1:] = [lambda job=job: time.sleep(0.05) or job() for job in jobs[1:]]
        together(jobs if round_ % 2 else jobs[::-1])
        payment.refresh_from_db()
        booking.refresh_from_db()
        if booking.payment_reference == payment.id:
            # Paid in time: confirmed once (the customer's cancel may have
            # come after: a cancel of a confirmed booking).
            assert booking.status in ("confirmed", "cancelled")
            assert booking.history.filter(to_status="confirmed").count() == 1
            assert not payment.refunds.filter(key__startswith="late:").exists()
        else:
            assert booking.status in ("released", "expired")
            assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
        outcomes[(booking.status, payment.status)] += 1
    print(dict(outcomes))
    assert sum(outcomes.values()) == 8


def test_a_late_success_racing_a_hold_of_its_seat_gives_the_seat_once(make_customers):
    """Each round: a hold ended with seats 10A and 10B; its late success and
    another customer's hold of 10A, together. Under the cabin's row lock one
    of them has 10A: the hold, and the booking is confirmed with two other
    seats; or the booking (its own seats back), and the hold is 409
    `seat_unavailable`. Never both, never a server error."""
    from bookings.models import SeatAssignment
    from bookings.services import cancel_booking
    from bookings.services.requests import FlightRequest
    from tests.factories import seat_mapped_cabin

    outcomes = Counter()
    for round_ in range(6):
        cabin = seat_mapped_cabin()
        (customer, _), (other, _) = make_customers(2)
        wanted = FlightRequest(cabin.flight_id, cabin.cabin_class, 2, ("10A", "10B"))
        booking = services_hold(customer, wanted)
        payment = services.start_payment(booking=booking, actor=customer).payment
        cancel_booking(booking=booking, actor=customer)
        rival = FlightRequest(cabin.flight_id, cabin.cabin_class, 1, ("10A",))
        jobs = [
            webhook(payment, "payment.succeeded", f"msg_seat_{round_}"),
            lambda o=other, r=rival: services_hold(o, r).reference,
        ]
        results = together(jobs if round_ % 2 else jobs[::-1])
        booking.refresh_from_db()
        assert booking.status == "confirmed"
        mine = set(
            SeatAssignment.objects.filter(booking=booking, active=True).values_list(
                "seat__number", flat=True
            )
        )
        held_by_rival = "seat_unavailable" not in results
        assert len(mine) == 2
        assert ("10A" in mine) != held_by_rival, (results, mine)
        outcomes["rival first" if held_by_rival else "late payment first"] += 1
    print(dict(outcomes))


def services_hold(customer, item):
    from bookings.services import hold_booking

    return hold_booking(customer=customer, items=[item]).booking
