"""Reads of the outbox: the events feed, and the delivery figures of the
staff dashboard."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q

from events.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint


class UnknownCursor(Exception):
    """`after` names no event of the feed."""


def event_feed(*, after: str | None, type: str | None, limit: int) -> list[Event]:
    """Relayed events in sequence order, after the event `after` names.

    The feed pages by the relay's sequence, not by id: ids follow creation
    time, so an event created earlier but committed later than one a reader
    has passed would hide behind the reader's cursor; sequences follow commit
    order (events/services.py, relay_pending), and an event is in the feed
    only once it has one."""
    events = Event.objects.filter(sequence__isnull=False)
    if after:
        cursor = events.filter(pk=after).values_list("sequence", flat=True).first()
        if cursor is None:
            raise UnknownCursor(after)
        events = events.filter(sequence__gt=cursor)
    if type:
        events = events.filter(type=type)
    return list(events.order_by("sequence")[:limit])


@dataclass(frozen=True)
class DeliveryHealth:
    """What the staff dashboard shows of the outbox and its deliveries."""

    failing_endpoints: int  # active, and failing since their last success
    disabled_endpoints: int
    oldest_undelivered: datetime | None  # creation of the oldest event pending delivery
    outbox_pending: int  # events not relayed yet
    oldest_unrelayed: datetime | None


def delivery_health() -> DeliveryHealth:
    """Three aggregate queries, the pending ones over partial indexes."""
    endpoints = WebhookEndpoint.objects.aggregate(
        failing=Count("id", filter=Q(is_active=True, failing_since__isnull=False)),
        disabled=Count("id", filter=Q(is_active=False)),
    )
    undelivered = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
        oldest=Min("event__created_at")
    )
    unrelayed = Event.objects.filter(relayed_at__isnull=True).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    return DeliveryHealth(
        failing_endpoints=endpoints["failing"],
        disabled_endpoints=endpoints["disabled"],
        oldest_undelivered=undelivered["oldest"],
        outbox_pending=unrelayed["count"],
        oldest_unrelayed=unrelayed["oldest"],
    )
