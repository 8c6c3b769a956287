"""The sandbox provider: runs inside this service for development, demos and
tests. Its checkout page is ours (payments/checkout.py); its webhooks are
signed as the Standard Webhooks specification says and sent to us over HTTP
from a Celery task (payments/tasks.py), as a real provider calls back."""

import json
import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from config.exceptions import ValidationFailed
from payments.exceptions import InvalidSignature
from payments.providers import FAILED, REFUND_SUCCEEDED, SUCCEEDED, Outcome, Started

KINDS = {
    "payment.succeeded": SUCCEEDED,
    "payment.failed": FAILED,
    "refund.succeeded": REFUND_SUCCEEDED,
}


class SandboxProvider:
    name = "sandbox"

    def start(self, payment) -> Started:
        return Started(
            provider_id=payment.id,
            checkout_url=reverse("sandbox-checkout", args=[payment.id]),
        )

    def refund(self, refund) -> str:
        """No money moves in the sandbox: the refund is settled at once."""
        return f"sre_{secrets.token_hex(8)}"

    def parse_webhook(self, body: bytes, headers) -> Outcome:
        """Verify first (signature and a timestamp within 5 minutes, as the
        library does), then read."""
        try:
            Webhook(settings.PAYMENT_WEBHOOK_SECRET).verify(body, dict(headers))
        except WebhookVerificationError as exc:
            raise InvalidSignature() from exc
        try:
            message = json.loads(body)
        except ValueError:
            raise _invalid("body", "The body is not JSON.") from None
        data = message.get("data") if isinstance(message, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("payment_id"), str):
            raise _invalid("data.payment_id", "A payment_id is required.")
        return Outcome(
            webhook_id=headers["webhook-id"],
            kind=KINDS.get(message.get("type"), ""),
            payment_id=data["payment_id"],
            amount=_amount(data.get("amount")),
            currency=str(data.get("currency") or ""),
            failure_reason=str(data.get("failure_reason") or "")[:255],
            refund_id=str(data.get("refund_id") or ""),
        )


def signed(message: dict, *, webhook_id: str, at: datetime | None = None) -> tuple[bytes, dict]:
    """The body and headers of a sandbox webhook, signed now (or `at`)."""
    body = json.dumps(message, separators=(",", ":"))
    at = at or timezone.now()
    signature = Webhook(settings.PAYMENT_WEBHOOK_SECRET).sign(webhook_id, at, body)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body.encode(), headers


def outcome_message(payment, kind: str, failure_reason: str = "") -> dict:
    data = {
        "payment_id": payment.id,
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
    }
    if failure_reason:
        data["failure_reason"] = failure_reason
    return {"type": kind, "data": data}


def _amount(value) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _invalid("data.amount", "The amount is not a decimal.") from None


def _invalid(field: str, detail: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "code": "invalid", "detail": detail}])
