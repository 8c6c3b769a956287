"""The outbox's consumers in real processes: a Celery worker on the default,
`webhooks` and `emails` queues, a real receiver, transactions that commit.
A worker killed (SIGKILL) in the middle of a delivery: the catch-up hands it
to the next worker once the lease lapses, and the event arrives."""

import signal
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from config.celery_app import app
from events.models import CustomerEmail, WebhookDelivery
from events.tasks import catch_up_deliveries
from tests.events.conftest import received, subscribe
from tests.expiry import processes
from tests.holds import hold_through_services

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUEUES = "celery,webhooks,emails"


def purge_queues() -> None:
    """Messages other tests enqueued in the test broker stay out of this one."""
    with app.connection_for_write() as connection:
        for queue in QUEUES.split(","):
            connection.default_channel.queue_purge(queue)


def start_worker(log_path, **env):
    log = open(log_path, "a")  # noqa: SIM115 (closed with the process)
    worker = processes.start(
        [
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
            "--queues",
            QUEUES,
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"events-test-{time.monotonic_ns()}@%h",
        ],
        processes.environment(WEBHOOK_ALLOW_PRIVATE_URLS="true", **env),
        stdout=log,
        stderr=processes.subprocess.STDOUT,
    )
    worker.log_file = log
    return worker


def wait_for(condition, worker, log_path, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert worker.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, f"{what}\n{log_path.read_text()}"
        time.sleep(0.2)


def test_a_committed_hold_reaches_the_receiver_and_a_confirmation_is_mailed(
    customer, cabin, receiver, tmp_path
):
    from bookings import services

    purge_queues()
    endpoint = subscribe(receiver.url_for("/hooks"))
    receiver.expect_request("/hooks").respond_with_data("ok")
    log_path = tmp_path / "worker.log"
    worker = start_worker(log_path)
    try:
        booking = hold_through_services(customer, cabin)  # its commit enqueues the relay
        services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="delivered").count() == 2,
            worker,
            log_path,
            "the events were not delivered",
        )
        wait_for(
            lambda: CustomerEmail.objects.filter(status="sent").exists(),
            worker,
            log_path,
            "the confirmation was not sent",
        )
    finally:
        processes.stop(worker)
        worker.log_file.close()
    bodies = received(receiver, endpoint)
    assert [b["type"] for b in bodies] == ["booking.held", "booking.confirmed"]


def test_a_worker_killed_mid_delivery_leaves_it_to_the_catch_up(
    customer, cabin, receiver, tmp_path
):
    purge_queues()
    endpoint = subscribe(receiver.url_for("/hooks"), ["booking.held"])
    reached, killed = threading.Event(), threading.Event()

    def hang_until_the_worker_is_dead(request):
        reached.set()
        killed.wait(30)
        return Response("too late")

    receiver.expect_ordered_request("/hooks").respond_with_handler(hang_until_the_worker_is_dead)
    receiver.expect_ordered_request("/hooks").respond_with_data("ok")
    log_path = tmp_path / "worker.log"
    worker = start_worker(log_path, WEBHOOK_LEASE_SECONDS="2")
    try:
        hold_through_services(customer, cabin)
        assert reached.wait(60), log_path.read_text()
        processes.os.killpg(worker.pid, signal.SIGKILL)  # mid-POST, nothing recorded
        worker.wait(10)
    finally:
        killed.set()
        processes.stop(worker)
        worker.log_file.close()
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == "pending" and delivery.attempts == 0

    worker = start_worker(log_path, WEBHOOK_LEASE_SECONDS="2")
    try:
        time.sleep(2)  # the dead worker's lease lapses
        WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))
        assert catch_up_deliveries() == {"deliveries": 1, "emails": 0}
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="delivered").exists(),
            worker,
            log_path,
            "the catch-up did not deliver it",
        )
    finally:
        processes.stop(worker)
        worker.log_file.close()
    bodies = received(receiver, endpoint)
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # at least once, the same event


def test_a_large_relay_batch_goes_out_in_one_endpoint_task_and_every_event_arrives(
    receiver, tmp_path
):
    """Past queueing.DIRECT_LIMIT deliveries (where one message each needed a
    `dispatch` task to enqueue them), the relay enqueues one message for the
    endpoint, whose task sends them all."""
    from events.models import Event
    from events.queueing import DIRECT_LIMIT
    from events.tasks import relay_events

    purge_queues()
    endpoint = subscribe(receiver.url_for("/hooks"), ["booking.held"])
    receiver.expect_request("/hooks").respond_with_data("ok")
    count = DIRECT_LIMIT + 10
    Event.objects.bulk_create(
        Event(type="booking.held", data={"booking": {"reference": f"R{i}"}}) for i in range(count)
    )
    log_path = tmp_path / "worker.log"
    worker = start_worker(log_path)
    try:
        relay_events.delay()
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="delivered").count() == count,
            worker,
            log_path,
            "not every event was delivered",
        )
    finally:
        processes.stop(worker)
        worker.log_file.close()
    log = log_path.read_text()
    assert log.count("Task events.tasks.deliver_endpoint[") == 2  # received, then succeeded
    assert "Task events.tasks.deliver_webhook[" not in log
    assert "Task events.tasks.dispatch[" not in log
    assert len({b["id"] for b in received(receiver, endpoint)}) == count


def test_holds_committed_during_the_relays_wait_go_out_in_one_relay_and_one_endpoint_task(
    customer, cabin, receiver, tmp_path
):
    """With the waits on, in a real worker: the first commit enqueues the
    relay, the next ones find it queued and waiting, and its one batch's
    deliveries go in one endpoint task."""
    from django.core.cache import cache

    from events.models import Event
    from events.services import RELAY_QUEUED

    purge_queues()
    cache.delete(RELAY_QUEUED)
    endpoint = subscribe(receiver.url_for("/hooks"), ["booking.held"])
    receiver.expect_request("/hooks").respond_with_data("ok")
    log_path = tmp_path / "worker.log"
    worker = start_worker(log_path, EVENTS_RELAY_BATCH_WAIT_MS="2000", WEBHOOK_ROUND_WAIT_MS="300")
    try:
        for _ in range(4):
            hold_through_services(customer, cabin)
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="delivered").count() == 4,
            worker,
            log_path,
            "the holds were not delivered",
        )
    finally:
        processes.stop(worker)
        worker.log_file.close()
    assert Event.objects.values("relayed_at").distinct().count() == 1  # one batch
    log = log_path.read_text()
    assert log.count("Task events.tasks.relay_events[") == 2  # received, then succeeded
    assert log.count("Task events.tasks.deliver_endpoint[") == 2
    assert len(received(receiver, endpoint)) == 4
