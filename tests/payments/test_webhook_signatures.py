"""Unsigned, wrongly signed, stale and tampered webhooks: 400
`invalid_signature`, and nothing changes (docs/api.md, Payments)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingStatus
from events.models import Event
from payments.models import ProcessedWebhook
from payments.providers.sandbox import outcome_message, signed
from tests.payments.conftest import post_signed, webhook_id


def _succeeded(payment, **signing):
    return signed(outcome_message(payment, "payment.succeeded"), webhook_id=webhook_id(), **signing)


def unsigned(payment):
    body, headers = _succeeded(payment)
    del headers["webhook-signature"]
    return body, headers


def wrong_secret(payment, settings):
    settings.PAYMENT_WEBHOOK_SECRET = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    made = _succeeded(payment)
    settings.PAYMENT_WEBHOOK_SECRET = "whsec_ZGV2ZWxvcG1lbnQtb25seS1zYW5kYm94LXNlY3JldA=="
    return made


def stale(payment):
    return _succeeded(payment, at=timezone.now() - timedelta(minutes=6))


def tampered(payment):
    body, headers = _succeeded(payment)
    return body.replace(b'"payment.succeeded"', b'"payment.failed"'), headers


def other_id(payment):
    body, headers = _succeeded(payment)
    return body, {**headers, "webhook-id": "msg_other"}


@pytest.mark.parametrize("forge", [unsigned, wrong_secret, stale, tampered, other_id])
def test_refused_and_nothing_changes(forge, client, payment, held, settings):
    settings.PAYMENT_WEBHOOK_SECRET = "whsec_ZGV2ZWxvcG1lbnQtb25seS1zYW5kYm94LXNlY3JldA=="
    args = (payment, settings) if forge is wrong_secret else (payment,)
    events = Event.objects.count()
    response = post_signed(client, *forge(*args))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    payment.refresh_from_db()
    held.refresh_from_db()
    assert (payment.status, held.status) == ("pending", BookingStatus.HELD)
    assert Event.objects.count() == events
    assert not ProcessedWebhook.objects.exists()


def test_an_unknown_provider_is_404(client):
    response = client.post("/api/v1/payments/webhooks/paypal/", {}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
