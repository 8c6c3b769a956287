"""Webhook deliveries against a real local receiver: signed, retried with
backoff, every attempt recorded, in order per booking, at least once whatever
the receiver does (down, slow, 500, a 200 twice), and turned off after
failing for WEBHOOK_DISABLE_AFTER_HOURS."""

import threading
import time
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from werkzeug import Response

from bookings import services
from events import deliveries, queueing, receivers
from events.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from events.services import relay_pending
from loadtest.receiver import Receiver
from tests.events.conftest import make_due, received, relay_and_deliver, subscribe
from tests.holds import hold_through_services

pytestmark = pytest.mark.django_db


def test_each_event_reaches_the_endpoint_signed_with_the_event_id(
    customer, cabin, endpoint, receiver
):
    receiver.expect_request("/hooks", method="POST").respond_with_data("ok")
    booking = hold_through_services(customer, cabin, seats=2)
    services.cancel_booking(booking=booking, actor=customer)

    relay_and_deliver()

    bodies = received(receiver, endpoint)
    assert [b["type"] for b in bodies] == ["booking.held", "booking.released"]
    assert {b["data"]["booking"]["reference"] for b in bodies} == {booking.reference}
    assert all(b["id"].startswith("evt_") for b in bodies)
    request, _ = receiver.log[0]
    assert request.headers["Content-Type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    attempt = DeliveryAttempt.objects.first()
    assert attempt.status_code == 200 and attempt.error == "" and attempt.duration_ms >= 0


def test_only_subscribed_types_and_active_endpoints_get_deliveries(customer, cabin, receiver):
    holds_only = subscribe(receiver.url_for("/held"), ["booking.held"])
    off = subscribe(receiver.url_for("/off"))
    off.is_active = False
    off.save()
    booking = hold_through_services(customer, cabin)
    services.cancel_booking(booking=booking, actor=customer)
    relay_pending()
    assert list(WebhookDelivery.objects.values_list("endpoint", "event__type")) == [
        (holds_only.pk, "booking.held")
    ]


def test_a_500_is_retried_with_backoff_until_it_is_delivered(customer, cabin, endpoint, receiver):
    receiver.expect_ordered_request("/hooks").respond_with_data("no", status=500)
    receiver.expect_ordered_request("/hooks").respond_with_data("no", status=503)
    receiver.expect_ordered_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_pending()
    (delivery,) = WebhookDelivery.objects.all()

    before = timezone.now()
    assert deliveries.attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at > before
    assert deliveries.attempt(delivery.pk) == "not ready"  # not due yet: the backoff holds it
    make_due(delivery)
    assert deliveries.attempt(delivery.pk) == "failed"
    make_due(delivery)
    assert deliveries.attempt(delivery.pk) == "delivered"

    attempts = DeliveryAttempt.objects.order_by("number")
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert len(received(receiver, endpoint)) == 3
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # the success ended the streak


def test_the_backoff_grows_exponentially_with_jitter_and_lasts_about_a_day(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 15
    delays = [deliveries.backoff(n) for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]
    assert delays[0] <= timedelta(seconds=30)
    assert all(later > earlier for earlier, later in zip(delays, delays[1:], strict=False))
    assert timedelta(hours=16) < sum(delays, timedelta()) < timedelta(hours=36)
    assert settings.WEBHOOK_MAX_ATTEMPTS >= 8
    assert len({deliveries.backoff(3) for _ in range(5)}) > 1  # jitter


def test_a_delivery_that_fails_every_attempt_is_marked_failed(
    customer, cabin, endpoint, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    receiver.expect_request("/hooks").respond_with_data("no", status=500)
    hold_through_services(customer, cabin)
    relay_and_deliver()
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == "failed" and delivery.attempts == 3
    assert len(receiver.log) == 3


def test_a_receiver_that_is_down_is_recorded_and_retried(customer, cabin, db):
    endpoint = subscribe("http://127.0.0.1:1/hooks")  # nothing listens on port 1
    hold_through_services(customer, cabin)
    relay_pending()
    (delivery,) = WebhookDelivery.objects.all()
    assert deliveries.attempt(delivery.pk) == "failed"
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "Connection" in attempt.error or "refused" in attempt.error
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None


def test_a_slow_receiver_times_out_and_the_event_arrives_on_the_retry(
    customer, cabin, endpoint, receiver, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3

    def slow(request):
        time.sleep(1)
        return Response("late")

    receiver.expect_ordered_request("/hooks").respond_with_handler(slow)
    receiver.expect_ordered_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_pending()
    (delivery,) = WebhookDelivery.objects.all()

    started = time.monotonic()
    assert deliveries.attempt(delivery.pk) == "failed"
    assert time.monotonic() - started < 0.9  # the timeout, not the receiver, ended it
    assert "timed out" in DeliveryAttempt.objects.get().error
    time.sleep(1)  # the slow handler finishes (the test receiver answers one at a time)
    make_due(delivery)
    assert deliveries.attempt(delivery.pk) == "delivered"


def test_an_event_answered_200_twice_keeps_its_id_so_the_receiver_can_drop_it(
    customer, cabin, endpoint, receiver
):
    receiver.expect_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_and_deliver()
    deliveries.redeliver(WebhookDelivery.objects.all())  # staff's "redeliver"
    relay_and_deliver()
    first, second = received(receiver, endpoint)
    assert first == second
    ids = [request.headers["webhook-id"] for request, _ in receiver.log]
    assert ids[0] == ids[1] == first["id"]
    assert DeliveryAttempt.objects.count() == 2


def test_events_of_one_booking_arrive_in_order_when_the_first_one_needs_retries(
    customer, cabin, endpoint, receiver
):
    """booking.held fails twice; booking.released waits for it, however often
    it is tried, and then follows it; another booking is not held up."""
    first = hold_through_services(customer, cabin)
    services.cancel_booking(booking=first, actor=customer)
    other = hold_through_services(customer, cabin)
    relay_pending()
    held, released = WebhookDelivery.objects.filter(ordering_key=first.reference).order_by(
        "event_id"
    )
    (other_delivery,) = WebhookDelivery.objects.filter(ordering_key=other.reference)

    receiver.expect_request("/hooks").respond_with_data("no", status=500)
    assert deliveries.attempt(held.pk) == "failed"
    assert deliveries.attempt(released.pk) == "not ready"  # waits for booking.held
    receiver.clear()
    receiver.expect_request("/hooks").respond_with_data("ok")
    assert deliveries.attempt(other_delivery.pk) == "delivered"  # another booking goes on
    assert deliveries.attempt(released.pk) == "not ready"
    make_due(held)
    assert deliveries.attempt(held.pk) == "delivered"
    assert deliveries.attempt(released.pk) == "delivered"

    mine = [
        b["type"]
        for b in received(receiver, endpoint)
        if b["data"]["booking"]["reference"] == first.reference
    ]
    assert mine == ["booking.held", "booking.released"]


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The endpoints whose `deliver_endpoint` message was published, in order
    (the broker itself is not reached: these tests run the task in-process)."""
    from events import tasks

    published: list[int] = []
    monkeypatch.setattr(
        tasks.deliver_endpoint, "apply_async", lambda args, **kw: published.append(args[0])
    )
    return published


def test_the_relay_enqueues_one_task_per_endpoint_that_sends_a_bookings_events_in_order(
    customer, cabin, endpoint, receiver, django_capture_on_commit_callbacks, enqueued
):
    receiver.expect_request("/hooks").respond_with_data("ok")
    booking = hold_through_services(customer, cabin)
    services.cancel_booking(booking=booking, actor=customer)
    other = hold_through_services(customer, cabin)
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()
    assert enqueued == [endpoint.pk]  # one message for the endpoint's three deliveries
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries.deliver_endpoint(endpoint.pk) == 3
    sent = [(b["data"]["booking"]["reference"], b["type"]) for b in received(receiver, endpoint)]
    assert [kind for ref, kind in sent if ref == booking.reference] == [
        "booking.held",
        "booking.released",
    ]
    assert (other.reference, "booking.held") in sent
    assert enqueued == [endpoint.pk]  # nothing was left ready: no further message


def test_a_task_already_queued_for_the_endpoint_is_not_queued_again_until_it_starts(
    customer, cabin, endpoint, receiver, django_capture_on_commit_callbacks, enqueued
):
    receiver.expect_request("/hooks").respond_with_data("ok")
    for _ in range(2):
        hold_through_services(customer, cabin)
        with django_capture_on_commit_callbacks(execute=True):
            relay_pending()
    assert enqueued == [endpoint.pk]  # the queued task will see the second relay's too
    assert deliveries.deliver_endpoint(endpoint.pk) == 2
    hold_through_services(customer, cabin)
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()
    assert enqueued == [endpoint.pk, endpoint.pk]  # it started: a new relay enqueues again


def test_a_task_out_of_time_hands_the_rest_back_and_enqueues_another(
    customer, cabin, endpoint, receiver, monkeypatch, enqueued
):
    monkeypatch.setattr(deliveries, "SENDING_SECONDS", 0.3)
    receiver.expect_request("/hooks").respond_with_handler(
        lambda request: (time.sleep(0.2), Response("ok"))[1]
    )
    for _ in range(3):
        hold_through_services(customer, cabin)
    relay_pending()
    sent = deliveries.deliver_endpoint(endpoint.pk)
    assert 1 <= sent < 3  # the third at the latest would start past its time
    assert enqueued == [endpoint.pk]
    left = WebhookDelivery.objects.filter(status="pending")
    assert len(left) == 3 - sent
    assert all(d.leased_until is None and d.attempts == 0 for d in left)
    monkeypatch.setattr(deliveries, "SENDING_SECONDS", 15)
    assert deliveries.deliver_endpoint(endpoint.pk) == 3 - sent
    assert WebhookDelivery.objects.filter(status="delivered").count() == 3


def test_an_endpoint_failing_for_the_configured_hours_is_turned_off(
    customer, cabin, endpoint, receiver, settings
):
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 72
    receiver.expect_request("/hooks").respond_with_data("no", status=500)
    hold_through_services(customer, cabin)
    relay_pending()
    (delivery,) = WebhookDelivery.objects.all()
    deliveries.attempt(delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is not None

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=72, minutes=1)
    )
    make_due(delivery)
    deliveries.attempt(delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "72 hours" in endpoint.disabled_reason
    make_due(delivery)
    assert deliveries.attempt(delivery.pk) == "endpoint disabled"
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    customer, cabin, endpoint, receiver, settings
):
    """Saved while private addresses were allowed (or resolving elsewhere):
    the address is checked again when the POST is made, and nothing is sent."""
    receiver.expect_request("/hooks").respond_with_data("ok")
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    hold_through_services(customer, cabin)
    relay_pending()
    (delivery,) = WebhookDelivery.objects.all()
    assert deliveries.attempt(delivery.pk) == "failed"
    assert "private" in DeliveryAttempt.objects.get().error
    assert receiver.log == []


def test_a_transition_that_rolls_back_makes_no_delivery(customer, cabin, endpoint, monkeypatch):
    from bookings.services import inventory

    booking = hold_through_services(customer, cabin)
    monkeypatch.setattr(inventory, "move_units_of", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.cancel_booking(booking=booking, actor=customer)
    relay_pending()
    assert list(WebhookDelivery.objects.values_list("event__type", flat=True)) == ["booking.held"]


@pytest.fixture
def keep_alive_receiver():
    """A real HTTP/1.1 receiver that keeps connections open, as most do, and
    counts the connections it was opened (pytest-httpserver closes each)."""

    class Counting(Receiver):
        connections = 0
        answer = b""

        def setup(self):
            super().setup()
            Counting.connections += 1

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", str(len(Counting.answer)))
            self.end_headers()
            self.wfile.write(Counting.answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}/hooks"
    server.counting = Counting
    yield server
    server.shutdown()
    server.server_close()


def test_deliveries_to_a_receiver_reuse_one_connection(customer, cabin, keep_alive_receiver):
    subscribe(keep_alive_receiver.url)
    for _ in range(4):
        hold_through_services(customer, cabin)
    relay_and_deliver()  # one attempt at a time, as the tasks make them
    assert WebhookDelivery.objects.filter(status="delivered").count() == 4
    assert keep_alive_receiver.counting.connections == 1


def test_a_long_answer_closes_the_connection_and_the_next_delivery_opens_another(
    customer, cabin, keep_alive_receiver
):
    keep_alive_receiver.counting.answer = b"x" * (receivers.MAX_ANSWER_BYTES * 4)
    subscribe(keep_alive_receiver.url)
    for _ in range(2):
        hold_through_services(customer, cabin)
    relay_and_deliver()
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2
    assert keep_alive_receiver.counting.connections == 2  # never read to its end to reuse it


def test_a_delivery_another_worker_delivered_meanwhile_is_not_recorded_delivered_again(
    customer, cabin, endpoint, receiver
):
    receiver.expect_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_pending()
    (slow,) = deliveries._lease(endpoint_id=endpoint.pk)  # a worker takes it
    WebhookDelivery.objects.update(leased_until=timezone.now() - timedelta(seconds=1))
    assert deliveries.attempt(slow.pk) == "delivered"  # its lease lapsed: another sends it
    first = WebhookDelivery.objects.get()
    assert deliveries._send_and_record([slow]) == ["delivered"]  # the first one answers late
    again = WebhookDelivery.objects.get()
    assert (again.delivered_at, again.attempts) == (first.delivered_at, 1)
    assert DeliveryAttempt.objects.filter(delivery=again).count() == 2  # both POSTs logged
    assert len(receiver.log) == 2
    assert {r.headers["webhook-id"] for r, _ in receiver.log} == {again.event_id}


@pytest.mark.django_db(transaction=True)
def test_a_round_skips_what_another_worker_is_taking_and_never_the_next_of_its_line(
    customer, cabin, endpoint
):
    booking = hold_through_services(customer, cabin)
    services.cancel_booking(booking=booking, actor=customer)
    others = [hold_through_services(customer, cabin) for _ in range(2)]
    relay_pending()
    held = WebhookDelivery.objects.filter(ordering_key=booking.reference).earliest("event_id")
    locked, release = threading.Event(), threading.Event()

    def another_worker_taking_it():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=another_worker_taking_it)
    thread.start()
    try:
        assert locked.wait(30)
        taken = deliveries._lease(endpoint_id=endpoint.pk, limit=deliveries.BATCH)
    finally:
        release.set()
        thread.join()
    # Neither the locked one nor the booking.released waiting behind it.
    assert sorted(d.ordering_key for d in taken) == sorted(o.reference for o in others)
    assert all(d.leased_until is not None for d in taken)
    assert WebhookDelivery.objects.get(pk=held.pk).leased_until is None


def test_an_event_relayed_while_the_one_before_it_is_out_goes_in_that_tasks_next_round(
    customer, cabin, endpoint, receiver, monkeypatch
):
    """The cancel's own task comes while booking.held is still being sent,
    finds booking.released waiting behind it, and stops: the task sending
    booking.held must not stop before it has looked again."""
    receiver.expect_request("/hooks").respond_with_data("ok")
    booking = hold_through_services(customer, cabin)
    relay_pending()
    post, meanwhile = receivers.post, []

    def cancelled_while_held_is_out(*args):
        if not meanwhile:
            services.cancel_booking(booking=booking, actor=customer)
            relay_pending()
            meanwhile.append(deliveries.deliver_endpoint(endpoint.pk))
        return post(*args)

    monkeypatch.setattr(receivers, "post", cancelled_while_held_is_out)
    assert deliveries.deliver_endpoint(endpoint.pk) == 2
    assert meanwhile == [0]  # the cancel's task found nothing ready
    assert [b["type"] for b in received(receiver, endpoint)] == [
        "booking.held",
        "booking.released",
    ]


def test_a_task_waits_marked_queued_and_its_rounds_carry_what_was_relayed_meanwhile(
    customer,
    cabin,
    endpoint,
    receiver,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
    enqueued,
):
    """The wait gathers: the relays of that moment enqueue no other message,
    nothing is leased while it lasts, and the next of a booking's line still
    waits for the round after the one its first goes in."""
    settings.WEBHOOK_ROUND_WAIT_MS = 150
    receiver.expect_request("/hooks").respond_with_data("ok")
    first = hold_through_services(customer, cabin)
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()
    assert enqueued == [endpoint.pk]
    waits = []

    def relays_meanwhile(seconds):
        waits.append(seconds)
        services.cancel_booking(booking=first, actor=customer)
        hold_through_services(customer, cabin)
        with django_capture_on_commit_callbacks(execute=True):
            relay_pending()
        assert not WebhookDelivery.objects.filter(leased_until__isnull=False).exists()

    monkeypatch.setattr(queueing, "sleep", relays_meanwhile)
    assert deliveries.deliver_endpoint(endpoint.pk, queued_at=time.time()) == 3
    assert len(waits) == 1 and 0 < waits[0] <= 0.15
    assert enqueued == [endpoint.pk]  # the relay of the wait added to this task's rounds
    # Two rounds: both bookings' first events, then the released behind its held.
    assert WebhookDelivery.objects.values("delivered_at").distinct().count() == 2
    mine = [
        b["type"]
        for b in received(receiver, endpoint)
        if b["data"]["booking"]["reference"] == first.reference
    ]
    assert mine == ["booking.held", "booking.released"]
    hold_through_services(customer, cabin)
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()
    assert enqueued == [endpoint.pk, endpoint.pk]  # it started: a relay enqueues again


@pytest.mark.parametrize(
    ("wait_ms", "queued_ago"),
    [(0, 0.0), (150, 1.0), (150, None)],
    ids=["no wait", "queued longer ago than the wait", "the catch-up's"],
)
def test_a_task_with_nothing_to_gather_sends_at_once(
    customer, cabin, endpoint, receiver, monkeypatch, settings, wait_ms, queued_ago
):
    settings.WEBHOOK_ROUND_WAIT_MS = wait_ms
    monkeypatch.setattr(queueing, "sleep", lambda seconds: pytest.fail("it waited"))
    receiver.expect_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_pending()
    queued_at = None if queued_ago is None else time.time() - queued_ago
    assert deliveries.deliver_endpoint(endpoint.pk, queued_at=queued_at) == 1


def test_the_catch_up_enqueues_with_nothing_to_gather_and_the_relay_with_its_moment(
    endpoint, monkeypatch
):
    from events import tasks

    sent = []
    monkeypatch.setattr(
        tasks.deliver_endpoint, "apply_async", lambda args, kwargs=None, **kw: sent.append(kwargs)
    )
    cache.delete(deliveries._queued_key(endpoint.pk))
    deliveries.enqueue_endpoints([endpoint.pk], coalesce=False)
    deliveries.enqueue_endpoints([endpoint.pk])
    assert sent[0] is None
    assert abs(sent[1]["queued_at"] - time.time()) < 5
