"""Payments of bookings (docs/api.md, Payments): one row per attempt to pay,
and the provider webhooks already processed, so each changes things once."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bookings.models import MONEY_DIGITS, Booking


def new_payment_id() -> str:
    """`pay_` and 24 random hex digits: unguessable, as it names the checkout page."""
    return f"pay_{secrets.token_hex(12)}"


class PaymentStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Payment(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_payment_id, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    # `sandbox`, `stripe`, or `offline` for a staff confirm with a reference.
    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    refunded_amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2, default=0)
    failure_reason = models.CharField(max_length=255, blank=True)
    checkout_url = models.CharField(max_length=2000, blank=True)
    client_secret = models.CharField(max_length=255, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The Idempotency-Key of the request that started it: a repeat with the
    # key on the booking answers this payment. Given up (null) when the
    # provider did not answer, so that request may be retried with it.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One payment per key and booking: the last word under any race.
            models.UniqueConstraint(
                fields=["booking", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_key_unique_per_booking",
            ),
            # One payment in flight per booking: the last word under any race.
            models.UniqueConstraint(
                fields=["booking"], condition=Q(status="pending"), name="one_pending_payment"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                name="refund_within_payment",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_created")]

    def __str__(self) -> str:
        return self.id


# The unique (provider, webhook id) pair: what refuses a repeated webhook.
WEBHOOK_ONCE = "webhook_once"


class ProcessedWebhook(models.Model):
    """A provider webhook already acted on: written in the transaction of
    its effect, so a repeat (the provider's retry, a replay) changes nothing."""

    provider = models.CharField(max_length=20)
    webhook_id = models.CharField(max_length=255)
    type = models.CharField(max_length=60)
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, null=True, related_name="webhooks"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "webhook_id"], name=WEBHOOK_ONCE)
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.webhook_id}"


class RefundStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(models.Model):
    """Money going back through the payment's provider. `key` names why (the
    cancel's event id, a late success), so one reason refunds once."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    key = models.CharField(max_length=80, unique=True)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    provider_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive")]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment_id}"
