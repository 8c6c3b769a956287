"""The Stripe provider through the official library, with only Stripe's HTTP
answers stubbed (a local pytest-httpserver as its API base); webhook
signatures are checked for real, with a test secret."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from werkzeug import Response

from payments import services
from payments.models import Payment, Refund
from tests.booking_requests import booking_url

SECRET = "whsec_test_stripe_secret"
WEBHOOK_URL = "/api/v1/payments/webhooks/stripe/"


@pytest.fixture
def stripe_api(httpserver, settings):
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    return httpserver


def intent(**fields):
    return {
        "id": "pi_123",
        "object": "payment_intent",
        "client_secret": "pi_123_secret_abc",
        "amount": 25800,
        "currency": "eur",
        "status": "requires_payment_method",
        **fields,
    }


def stripe_signed(event: dict, *, secret=SECRET, at=None) -> tuple[bytes, dict]:
    """Signed as Stripe signs: HMAC-SHA256 of `{t}.{payload}`."""
    payload = json.dumps(event)
    t = int(at or time.time())
    signature = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return payload.encode(), {"Stripe-Signature": f"t={t},v1={signature}"}


def post(client, body, headers):
    return client.generic(
        "POST", WEBHOOK_URL, body, content_type="application/json", headers=headers
    )


def event(kind, obj, event_id="evt_1"):
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


@pytest.fixture
def stripe_payment(stripe_api, held, customer):
    stripe_api.expect_oneshot_request("/v1/payment_intents", method="POST").respond_with_json(
        intent(metadata={"booking": held.reference})
    )
    payment = services.start_payment(booking=held, actor=customer).payment
    request, _ = stripe_api.log[-1]
    return payment, request


def test_a_payment_is_a_payment_intent(customer_client, stripe_api, held):
    stripe_api.expect_oneshot_request("/v1/payment_intents", method="POST").respond_with_json(
        intent()
    )
    response = customer_client.post(booking_url(held.reference, "payments"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["provider"], body["client_secret"], body["checkout_url"]) == (
        "stripe",
        "pi_123_secret_abc",
        None,
    )
    request, _ = stripe_api.log[-1]
    assert request.form["amount"] == "25800"
    assert request.form["currency"] == "eur"
    assert request.form["metadata[booking]"] == held.reference
    assert request.headers["Idempotency-Key"] == body["id"]
    assert Payment.objects.get(pk=body["id"]).provider_id == "pi_123"


def test_stripe_down_is_a_503_and_no_payment_is_left_pending(customer_client, stripe_api, held):
    stripe_api.expect_request("/v1/payment_intents").respond_with_response(Response(status=500))
    response = customer_client.post(booking_url(held.reference, "payments"))
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    assert not Payment.objects.filter(status="pending").exists()


def test_a_key_refused_by_stripe_being_down_may_be_retried(customer_client, stripe_api, held):
    """The 503 started no payment: the same Idempotency-Key then starts one,
    and a repeat of that answers it again."""
    url, key = booking_url(held.reference, "payments"), {"Idempotency-Key": "once"}
    stripe_api.expect_request("/v1/payment_intents").respond_with_response(Response(status=500))
    down = customer_client.post(url, headers=key)
    assert (down.status_code, down.json()["code"]) == (503, "service_unavailable")
    stripe_api.clear_all_handlers()
    stripe_api.expect_oneshot_request("/v1/payment_intents").respond_with_json(intent())
    retried = customer_client.post(url, headers=key)
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried.headers
    again = customer_client.post(url, headers=key)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json()["id"] == retried.json()["id"] != down.json().get("id")
    assert Payment.objects.filter(booking=held).count() == 2  # the refused one, failed


def test_succeeded_confirms(client, stripe_payment, held):
    payment, _ = stripe_payment
    obj = intent(status="succeeded", metadata={"payment_id": payment.id})
    response = post(client, *stripe_signed(event("payment_intent.succeeded", obj)))
    assert response.status_code == 200, response.content
    held.refresh_from_db()
    assert (held.status, held.payment_reference) == ("confirmed", payment.id)


@pytest.mark.parametrize("forge", ["wrong secret", "stale", "tampered", "unsigned"])
def test_forged_stripe_webhooks_are_refused(client, stripe_payment, held, forge):
    payment, _ = stripe_payment
    obj = intent(status="succeeded", metadata={"payment_id": payment.id})
    body, headers = stripe_signed(
        event("payment_intent.succeeded", obj),
        secret="whsec_other" if forge == "wrong secret" else SECRET,
        at=time.time() - 600 if forge == "stale" else None,
    )
    if forge == "tampered":
        body = body.replace(b"25800", b"100")
    if forge == "unsigned":
        headers = {}
    response = post(client, body, headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")
    held.refresh_from_db()
    assert held.status == "held"


def test_refunds_go_through_stripe_and_settle_on_charge_refunded(
    client, stripe_api, stripe_payment, held
):
    from payments.tasks import issue_refund  # the task's own code, in this process

    payment, _ = stripe_payment
    obj = intent(status="succeeded", metadata={"payment_id": payment.id})
    post(client, *stripe_signed(event("payment_intent.succeeded", obj)))
    payment.refresh_from_db()
    made = services.refund(payment=payment, amount=Decimal("100.00"), key="test")
    stripe_api.expect_oneshot_request("/v1/refunds", method="POST").respond_with_json(
        {"id": "re_1", "object": "refund", "amount": 10000, "status": "pending"}
    )
    issue_refund.apply(args=[made.pk])
    request, _ = stripe_api.log[-1]
    assert (request.form["payment_intent"], request.form["amount"]) == ("pi_123", "10000")
    assert request.headers["Idempotency-Key"] == f"refund-{made.pk}"
    made.refresh_from_db()
    assert (made.status, made.provider_id) == ("pending", "re_1")
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_123"}
    response = post(client, *stripe_signed(event("charge.refunded", charge, "evt_2")))
    assert response.status_code == 200
    made.refresh_from_db()
    assert made.status == "succeeded"
    assert Refund.objects.count() == 1


def test_event_types_we_do_not_act_on_are_received(client, stripe_payment, held):
    obj = {"id": "cus_1", "object": "customer"}
    response = post(client, *stripe_signed(event("customer.created", obj)))
    assert (response.status_code, response.json()) == (200, {"received": True})
    held.refresh_from_db()
    assert held.status == "held"
