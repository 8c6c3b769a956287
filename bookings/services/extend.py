"""Extend: a hold keeps its inventory for another hold time, a limited
number of times. Not a change of status: a history row, no event."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bookings import metrics
from bookings.exceptions import ExtensionLimit, HoldExpired
from bookings.models import Booking, BookingStatus, BookingStatusChange
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import actor_kind, lock_booking, require_held

HELD = BookingStatus.HELD


def extend_booking(*, booking: Booking, actor) -> Booking:
    """Move `expires_at` to now plus the hold time. A hold found overdue is
    expired (that commits) and the answer is HoldExpired."""
    with transaction.atomic():
        booking = lock_booking(booking)
        now = timezone.now()
        if not expire_if_overdue(booking, now):
            require_held(booking, "extended")
            limit = settings.HOLD_MAX_EXTENSIONS
            if booking.extension_count >= limit:
                raise ExtensionLimit(limit)
            booking.expires_at = now + timedelta(seconds=settings.HOLD_TTL_SECONDS)
            booking.extension_count = F("extension_count") + 1
            booking.save(update_fields=["expires_at", "extension_count"])
            booking.refresh_from_db(fields=["extension_count"])
            BookingStatusChange.objects.create(
                booking=booking,
                from_status=HELD,
                to_status=HELD,
                actor=actor,
                actor_kind=actor_kind(actor, booking),
                at=now,
                note=f"extended until {booking.expires_at.isoformat()}",
            )
            metrics.count_extension()
            return booking
    raise HoldExpired()
