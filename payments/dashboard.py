"""The payments' figures on the staff dashboard (config/admin_site.py adds
them, as bookings' dashboard sits below payments)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from bookings.models import Booking
from payments.models import Payment, PaymentStatus

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PaymentFigures:
    holds: int  # bookings created in the window
    paid: int  # of those, paid by a provider's payment
    failed: int  # payments that failed in the window
    refunded: int  # payments refunded (wholly or in part) in the window

    @property
    def paid_rate(self) -> float | None:
        return self.paid / self.holds if self.holds else None


def payment_figures(now: datetime, window: timedelta = WINDOW) -> PaymentFigures:
    since = now - window
    took_money = [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
    ]
    paid_by_provider = Q(payments__status__in=took_money) & ~Q(payments__provider="offline")
    holds = Booking.objects.filter(created_at__gt=since, created_at__lte=now).aggregate(
        holds=Count("pk", distinct=True),
        paid=Count("pk", filter=paid_by_provider, distinct=True),
    )
    payments = Payment.objects.filter(updated_at__gt=since, updated_at__lte=now).aggregate(
        failed=Count("pk", filter=Q(status=PaymentStatus.FAILED)),
        refunded=Count(
            "pk", filter=Q(status__in=[PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED])
        ),
    )
    return PaymentFigures(**holds, **payments)
