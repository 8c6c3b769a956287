"""Payments on the real PostgreSQL and Redis: holds made through the
services, webhooks signed by the sandbox's own code."""

import secrets

import pytest

from payments import services
from payments.models import Payment
from payments.providers.sandbox import outcome_message, signed
from tests.holds import hold_through_services
from tests.invariants import assert_inventory_consistent

WEBHOOK_URL = "/api/v1/payments/webhooks/sandbox/"


@pytest.fixture(autouse=True)
def _inventory_stays_consistent(db):
    yield
    assert_inventory_consistent()


@pytest.fixture
def held(customer, cabin):
    """2 seats of `cabin`, held by `customer`."""
    return hold_through_services(customer, cabin, seats=2)


@pytest.fixture
def payment(held, customer) -> Payment:
    return services.start_payment(booking=held, actor=customer).payment


def webhook_id() -> str:
    return f"msg_{secrets.token_hex(8)}"


def post_webhook(client, payment, kind="payment.succeeded", *, message=None, **signing):
    """POST a sandbox webhook about `payment`, signed as the sandbox signs."""
    message = message or outcome_message(
        payment, kind, "card_declined" if kind == "payment.failed" else ""
    )
    signing.setdefault("webhook_id", webhook_id())
    body, headers = signed(message, **signing)
    return post_signed(client, body, headers)


def post_signed(client, body: bytes, headers: dict):
    return client.generic(
        "POST",
        WEBHOOK_URL,
        body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "content-type"},
    )
