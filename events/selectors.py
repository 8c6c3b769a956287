"""Reads of the outbox: the events feed."""

from events.models import Event


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
