"""The outbox: one row per thing that happened, written in the transaction
that made it happen, so an event exists exactly when its change committed;
and its consumers: webhook endpoints with their deliveries, customer emails."""

import base64
import secrets
import time

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_event_id() -> str:
    """`evt_`, the microseconds since the epoch (14 hex digits, so ids sort by
    creation time as text) and 6 random hex digits against ties."""
    return f"evt_{time.time_ns() // 1000:014x}{secrets.token_hex(3)}"


class EventType(models.TextChoices):
    BOOKING_HELD = "booking.held"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_RELEASED = "booking.released"
    BOOKING_EXPIRED = "booking.expired"
    BOOKING_CANCELLED = "booking.cancelled"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"


class Event(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_event_id, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # `data.booking` is the booking as its owner reads it through the API.
    data = models.JSONField()
    # Set once the relay has handed the event to its consumers.
    relayed_at = models.DateTimeField(null=True, blank=True)
    # The feed's order: given by the relay, which runs one at a time and only
    # sees committed rows, so a later sequence is always committed later and
    # an event that committed late never hides behind a reader's cursor.
    sequence = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(relayed_at__isnull=True), name="event_not_relayed"
            ),
            models.Index(fields=["type", "id"], name="event_type"),
            models.Index(fields=["type", "sequence"], name="event_feed_type"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


def new_webhook_secret() -> str:
    """`whsec_` and 32 random bytes in base64, the Standard Webhooks format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_receiver_url(url: str) -> None:
    """The receiver rules (events/receivers.py), for the API and the admin alike."""
    from events.receivers import ReceiverRefused, check_url

    try:
        check_url(url)
    except ReceiverRefused as exc:
        raise ValidationError(str(exc), code="url_not_allowed") from exc


class WebhookEndpoint(models.Model):
    """A receiver of events. The secret is kept as is: it signs every request."""

    url = models.URLField(max_length=2000, validators=[validate_receiver_url])
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    description = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=80, default=new_webhook_secret, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The first failure since the last success: how long it has been failing.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: made once (unique pair) by the relay, and
    tried until a 2xx answer or the retries run out."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The booking's reference: deliveries of one key reach an endpoint in
    # event order ("" for an event of no booking: no order to keep).
    ordering_key = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Attempts since it was last (re)scheduled: the retry budget and backoff.
    round_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker owns the delivery until then; a worker killed mid-attempt loses
    # it when it lapses and the catch-up tries again.
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-event_id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(
                fields=["endpoint", "ordering_key", "event"],
                condition=Q(status="pending"),
                name="delivery_pending_in_order",
            ),
            # An endpoint's round (events.deliveries.LEASE) in event order: by
            # the event id alone it walked every delivered row before the
            # pending ones, 8 ms a round with 60,000 delivered (0.3 ms this way).
            # `next_attempt_at` is never null: that half of the condition is
            # there so that only the round, which asks for a due time, can use
            # this index, and the round's line check (is an earlier delivery of
            # the booking pending?) must take delivery_pending_in_order. On a
            # table without statistics (just filled, before autovacuum's
            # ANALYZE) the planner priced both alike and sometimes took this
            # one, walking every earlier pending delivery of the endpoint for
            # each candidate: 11-60 ms a round instead of 0.3 in the outbox
            # bench, and the one catch-up run that never finished.
            models.Index(
                fields=["endpoint", "event"],
                condition=Q(status="pending", next_attempt_at__isnull=False),
                name="delivery_pending_by_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint}"


class DeliveryAttempt(models.Model):
    """Every POST made, whatever came of it."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class EmailKind(models.TextChoices):
    CONFIRMED = "booking_confirmed"
    PAYMENT_FAILED = "payment_failed"
    EXPIRED = "hold_expired"
    CANCELLED = "booking_cancelled"


class EmailStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class CustomerEmail(models.Model):
    """One email about one event (unique pair): claimed as `sending` before
    it goes out, so it is sent at most once whatever crashes or repeats."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    recipient = models.CharField(max_length=254, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-event_id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="one_email_per_event_kind")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="email_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
