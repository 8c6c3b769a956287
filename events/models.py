"""The outbox: one row per thing that happened, written in the transaction
that made it happen, so an event exists exactly when its change committed."""

import secrets
import time

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


class Event(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_event_id, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # `data.booking` is the booking as its owner reads it through the API.
    data = models.JSONField()
    # Set once the relay has handed the event to its consumers.
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(relayed_at__isnull=True), name="event_not_relayed"
            ),
            models.Index(fields=["type", "id"], name="event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"
