"""The sandbox checkout page, and its callback: a Celery task that POSTs the
signed webhook to this service's own URL over real HTTP (a live server)."""

import pytest
from django.urls import reverse

from bookings.models import BookingStatus
from config.celery_app import app as celery_app
from payments.checkout import DECLINED, SUCCEEDS
from payments.models import PaymentStatus
from payments.tasks import RETRIES, CallbackRefused, send_sandbox_webhook

pytestmark = pytest.mark.django_db(transaction=True)


def checkout_url(payment):
    return reverse("sandbox-checkout", args=[payment.id])


def test_the_page_shows_the_booking_the_amount_and_a_card_form(client, payment, held):
    page = client.get(checkout_url(payment))
    assert page.status_code == 200
    text = page.content.decode()
    assert held.reference in text
    assert f"{payment.amount} {payment.currency}" in text
    assert 'name="card_number"' in text


def test_another_card_number_is_a_form_error(client, payment):
    page = client.post(checkout_url(payment), {"card_number": "4111 1111 1111 1111"})
    assert page.status_code == 200
    assert "Use the test card" in page.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_unknown_payment_is_404(client):
    assert client.get("/sandbox/checkout/pay_nope/").status_code == 404


@pytest.fixture
def tasks_run_here():
    """Celery's tasks run in this process when enqueued (the task's own code,
    HTTP and all): no worker to start for a page test."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.parametrize(
    ("card", "payment_status", "booking_status"),
    [(SUCCEEDS, "succeeded", BookingStatus.CONFIRMED), (DECLINED, "failed", BookingStatus.HELD)],
)
def test_paying_sends_the_signed_webhook_to_our_own_url(
    client, live_server, tasks_run_here, payment, held, card, payment_status, booking_status
):
    host = live_server.url.removeprefix("http://")
    page = client.post(checkout_url(payment), {"card_number": card}, HTTP_HOST=host)
    assert page.status_code == 200
    payment.refresh_from_db()
    held.refresh_from_db()
    assert (payment.status, held.status) == (payment_status, booking_status)
    assert 'id="outcome"' in page.content.decode()


def test_the_callback_is_retried_until_the_service_answers(live_server, httpserver, payment, held):
    """A callback answered with anything but a 2xx (a receiver answering
    503) is tried again with backoff, RETRIES times after the first; the
    same webhook to our URL then confirms."""
    httpserver.expect_request("/hook").respond_with_data("busy", status=503)
    refused = send_sandbox_webhook.apply(
        args=[payment.id, "payment.succeeded"],
        kwargs={"webhook_id": "msg_retry", "url": httpserver.url_for("/hook")},
    )
    assert refused.state == "FAILURE"
    assert isinstance(refused.result, CallbackRefused)
    attempts = [request for request, _ in httpserver.log]
    assert len(attempts) == RETRIES + 1
    assert {request.headers["webhook-id"] for request in attempts} == {"msg_retry"}
    held.refresh_from_db()
    assert held.status == BookingStatus.HELD
    delivered = send_sandbox_webhook.apply(
        args=[payment.id, "payment.succeeded"],
        kwargs={
            "webhook_id": "msg_retry",
            "url": f"{live_server.url}/api/v1/payments/webhooks/sandbox/",
        },
    )
    assert delivered.result == 200
    held.refresh_from_db()
    assert held.status == BookingStatus.CONFIRMED
