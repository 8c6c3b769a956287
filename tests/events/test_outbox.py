"""The outbox: every transition writes its event in its own transaction, a
transition that rolls back writes none, and the relay hands each event over
once it committed (enqueued on commit, caught up by beat)."""

import time

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django_celery_beat.models import PeriodicTask

from bookings import services
from bookings.models import Booking
from bookings.services import inventory
from events import queueing
from events import services as events_services
from events.models import Event
from events.services import relay_pending
from events.tasks import relay_events
from tests.booking_requests import flight_item, hold_through_api
from tests.factories import FlightInventoryFactory
from tests.holds import hold_through_services, make_overdue

pytestmark = pytest.mark.django_db


def events_of(booking: Booking) -> list[Event]:
    return [
        e
        for e in Event.objects.order_by("id")
        if e.data["booking"]["reference"] == booking.reference
    ]


def test_a_hold_writes_booking_held_with_the_booking_as_its_owner_reads_it(customer_client, cabin):
    response = hold_through_api(customer_client, flight_item(cabin, 2))
    assert response.status_code == 201
    (event,) = Event.objects.all()
    assert event.type == "booking.held"
    assert event.id.startswith("evt_")
    assert event.data == {"booking": response.json()}


@pytest.mark.parametrize(
    "transition, expected",
    [
        (lambda b: services.cancel_booking(booking=b, actor=b.customer), "booking.released"),
        (
            lambda b: services.confirm_booking(booking=b, payment_reference="p", actor=b.customer),
            "booking.confirmed",
        ),
    ],
)
def test_each_committed_transition_writes_exactly_one_event(customer, cabin, transition, expected):
    booking = hold_through_services(customer, cabin, seats=2)
    transition(booking)
    transition(booking)  # again: nothing changes, no second event
    assert [e.type for e in events_of(booking)] == ["booking.held", expected]
    assert events_of(booking)[-1].data["booking"]["status"] == expected.split(".")[1]


def test_a_cancel_of_a_confirmed_booking_writes_booking_cancelled(customer, cabin):
    booking = hold_through_services(customer, cabin)
    services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
    services.cancel_booking(booking=booking, actor=customer)
    assert [e.type for e in events_of(booking)][-1] == "booking.cancelled"


def test_expiry_writes_booking_expired_once_per_booking(customer, cabin):
    bookings = [hold_through_services(customer, cabin) for _ in range(3)]
    make_overdue(*bookings)
    assert services.expire_overdue_holds() == 3
    assert services.expire_overdue_holds() == 0
    for booking in bookings:
        assert [e.type for e in events_of(booking)] == ["booking.held", "booking.expired"]


def test_a_transition_that_fails_after_its_writes_leaves_no_event(customer, cabin, monkeypatch):
    booking = hold_through_services(customer, cabin, seats=2)

    def fail_after_the_status_and_event_were_written(*args, **kwargs):
        assert Event.objects.filter(type="booking.released").count() == 1  # written...
        raise RuntimeError("crash before the units moved")

    monkeypatch.setattr(inventory, "move_units_of", fail_after_the_status_and_event_were_written)
    with pytest.raises(RuntimeError, match="crash"):
        services.cancel_booking(booking=booking, actor=customer)

    assert [e.type for e in events_of(booking)] == ["booking.held"]  # ...and rolled back
    booking.refresh_from_db()
    assert booking.status == "held"
    assert booking.history.count() == 1


def test_the_relay_is_enqueued_on_commit_only(
    customer, cabin, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        booking = hold_through_services(customer, cabin)
    # The relay's, once (beside it, the search cache's version bump).
    assert [callback.__name__ for callback in callbacks].count("enqueue_relay") == 1
    monkeypatch.setattr(inventory, "move_units_of", lambda *a, **k: 1 / 0)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ZeroDivisionError):
        services.cancel_booking(booking=booking, actor=customer)
    assert callbacks == []


def test_the_relay_marks_each_committed_event_relayed_once(customer):
    cabin = FlightInventoryFactory(total_seats=10)
    for _ in range(3):
        hold_through_services(customer, cabin)
    assert Event.objects.filter(relayed_at__isnull=True).count() == 3
    assert relay_events() == 3
    assert relay_events() == 0
    assert relay_pending() == 0
    assert not Event.objects.filter(relayed_at__isnull=True).exists()


def test_beat_catches_up_on_the_relay_every_minute():
    task = PeriodicTask.objects.get(task="events.tasks.relay_events")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (60, "seconds")


def test_a_commit_enqueues_the_relay_unless_one_is_queued_and_not_started(
    customer, cabin, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(relay_events, "delay", lambda **kw: enqueued.append("relay"))
    cache.delete(events_services.RELAY_QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        booking = hold_through_services(customer, cabin)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(booking=booking, actor=customer)
    assert enqueued == ["relay"]  # the second commit: the queued relay will see it
    relay_events()  # the relay starts: from now on a commit enqueues another
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_services(customer, cabin)
    assert enqueued == ["relay", "relay"]


def relay_lock_held() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s"
            " AND pid = pg_backend_pid()",
            [events_services.RELAY_LOCK],
        )
        return cursor.fetchone()[0] > 0


def test_commits_during_the_relays_wait_enqueue_no_other_relay_and_go_in_its_one_batch(
    customer, cabin, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.EVENTS_RELAY_BATCH_WAIT_MS = 150
    enqueued, waits = [], []
    monkeypatch.setattr(relay_events, "delay", lambda **kw: enqueued.append(kw["queued_at"]))
    cache.delete(events_services.RELAY_QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        first = hold_through_services(customer, cabin)
    (queued_at,) = enqueued

    def commits_meanwhile(seconds):
        waits.append(seconds)
        assert cache.get(events_services.RELAY_QUEUED)  # still says "queued"
        assert not relay_lock_held()  # nothing held across the wait
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel_booking(booking=first, actor=customer)
        with django_capture_on_commit_callbacks(execute=True):
            hold_through_services(customer, cabin)

    monkeypatch.setattr(queueing, "sleep", commits_meanwhile)
    assert relay_events(queued_at=queued_at) == 3
    assert len(waits) == 1 and 0 < waits[0] <= 0.15  # what is left of the wait
    assert enqueued == [queued_at]  # the commits of the wait enqueued no other relay
    assert Event.objects.values("relayed_at").distinct().count() == 1  # one batch
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_services(customer, cabin)
    assert len(enqueued) == 2  # once it took them, a commit enqueues again


@pytest.mark.parametrize(
    ("wait_ms", "queued_ago"),
    [(0, 0.0), (150, 1.0), (150, None)],
    ids=["no wait", "queued longer ago than the wait", "beat's catch-up"],
)
def test_a_relay_with_nothing_to_gather_starts_at_once(
    customer, cabin, monkeypatch, settings, wait_ms, queued_ago
):
    settings.EVENTS_RELAY_BATCH_WAIT_MS = wait_ms
    monkeypatch.setattr(queueing, "sleep", lambda seconds: pytest.fail("it waited"))
    cache.set(events_services.RELAY_QUEUED, True)
    hold_through_services(customer, cabin)
    queued_at = None if queued_ago is None else time.time() - queued_ago
    assert relay_events(queued_at=queued_at) == 1
    assert cache.get(events_services.RELAY_QUEUED) is None


def test_a_transaction_writing_two_events_asks_for_one_relay(
    customer, cabin, client, django_capture_on_commit_callbacks
):
    """A payment's webhook writes the payment's event and the booking's; a
    savepoint that rolls back takes its own request for the relay with it."""
    from payments.services import start_payment
    from tests.payments.conftest import post_webhook

    payment = start_payment(booking=hold_through_services(customer, cabin), actor=customer).payment
    with django_capture_on_commit_callbacks() as callbacks:
        assert post_webhook(client, payment).status_code == 200
    assert [callback.__name__ for callback in callbacks].count("enqueue_relay") == 1

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            events_services.relay_after_commit()
            raise RuntimeError("rolled back")
        events_services.relay_after_commit()
    assert [callback.__name__ for callback in callbacks] == ["enqueue_relay"]
