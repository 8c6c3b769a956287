"""The Stripe provider, through the official `stripe` library: a
PaymentIntent per payment (the amount in minor units, the booking's
reference in its metadata, our payment id as the idempotency key), refunds,
and Stripe's own webhook signatures (`stripe.Webhook.construct_event`)."""

from decimal import Decimal

import stripe
from django.conf import settings

from config.exceptions import ValidationFailed
from payments.exceptions import InvalidSignature
from payments.providers import FAILED, REFUND_SUCCEEDED, SUCCEEDED, Outcome, Started

KINDS = {
    "payment_intent.succeeded": SUCCEEDED,
    "payment_intent.payment_failed": FAILED,
    "charge.refunded": REFUND_SUCCEEDED,
}
# ISO 4217 currencies Stripe counts in whole units (its "zero-decimal" list).
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
                "VND", "VUV", "XAF", "XOF", "XPF"}  # fmt: skip


def minor_units(amount: Decimal, currency: str) -> int:
    return int(amount if currency.upper() in ZERO_DECIMAL else amount * 100)


def major_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount) if currency.upper() in ZERO_DECIMAL else Decimal(amount) / 100


class StripeProvider:
    name = "stripe"

    def __init__(self):
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=2,
        )

    def start(self, payment) -> Started:
        intent = self.client.v1.payment_intents.create(
            {
                "amount": minor_units(payment.amount, payment.currency),
                "currency": payment.currency.lower(),
                "metadata": {"booking": payment.booking.reference, "payment_id": payment.id},
                "automatic_payment_methods": {"enabled": True},
            },
            {"idempotency_key": payment.id},
        )
        return Started(provider_id=intent.id, checkout_url="", client_secret=intent.client_secret)

    def refund(self, refund) -> str:
        payment = refund.payment
        made = self.client.v1.refunds.create(
            {
                "payment_intent": payment.provider_id,
                "amount": minor_units(refund.amount, payment.currency),
                "metadata": {"payment_id": payment.id, "refund_key": refund.key},
            },
            {"idempotency_key": f"refund-{refund.pk}"},
        )
        return made.id

    def parse_webhook(self, body: bytes, headers) -> Outcome:
        """Stripe's `Stripe-Signature` checked (and its 5-minute tolerance)
        before anything is read."""
        try:
            event = stripe.Webhook.construct_event(
                body, headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature() from exc
        except ValueError:
            raise _invalid("body", "The body is not a Stripe event.") from None
        kind = KINDS.get(event.type, "")
        thing = event.data.object.to_dict()
        if kind == REFUND_SUCCEEDED:
            return Outcome(
                webhook_id=event.id,
                kind=kind,
                payment_id="",
                provider_id=str(thing.get("payment_intent") or ""),
            )
        metadata = thing.get("metadata") or {}
        error = thing.get("last_payment_error") or {}
        return Outcome(
            webhook_id=event.id,
            kind=kind,
            payment_id=metadata.get("payment_id", ""),
            provider_id=thing.get("id", ""),
            amount=major_units(thing.get("amount", 0), thing.get("currency", "")),
            currency=str(thing.get("currency", "")).upper(),
            failure_reason=str(error.get("message") or error.get("code") or "")[:255],
        )


def _invalid(field: str, detail: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "code": "invalid", "detail": detail}])
