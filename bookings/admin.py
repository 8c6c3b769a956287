"""Bookings in the back office: read, release or cancel, expire what is
overdue. Nothing here edits a booking by hand: every change goes through
`bookings.services`, as it does from the API."""

from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone

from bookings import services
from bookings.models import (
    CANCEL_PERMISSION,
    Booking,
    BookingStatus,
    BookingStatusChange,
    FlightItem,
    HotelItem,
)
from bookings.selectors import effective_status_condition
from config.admin_pagination import EstimatedCountPaginator
from config.exceptions import DomainError

# Per-booking lines reported after an action; the rest are summed up.
REPORT_LINES = 50


class EffectiveStatusFilter(admin.SimpleListFilter):
    """Status as the API reads it: a hold past `expires_at` is expired."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return BookingStatus.choices

    def queryset(self, request, queryset):
        if self.value() in BookingStatus.values:
            return queryset.filter(effective_status_condition(self.value()))
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FlightItemInline(ReadOnlyInline):
    model = FlightItem
    fields = ["position", "inventory", "seats", "unit_price", "line_total"]
    verbose_name = "flight"
    verbose_name_plural = "flights"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("inventory__flight")


class HotelItemInline(ReadOnlyInline):
    model = HotelItem
    fields = ["position", "room_type", "check_in", "check_out", "rooms", "unit_price", "line_total"]
    verbose_name = "hotel stay"
    verbose_name_plural = "hotel stays"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("room_type__hotel")


class StatusHistoryInline(ReadOnlyInline):
    model = BookingStatusChange
    fields = ["at", "from_status", "to_status", "actor_kind", "actor", "note"]
    verbose_name = "status change"
    verbose_name_plural = "status history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "customer",
        "status_now",
        "expires_in",
        "total",
        "created_at",
    ]
    list_select_related = ["customer"]
    list_filter = [EffectiveStatusFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = [
        "reference",
        "customer__username",
        "customer__first_name",
        "customer__last_name",
        "customer__email",
    ]
    # Counting a year of bookings for "N total" on every filtered page, or for
    # every filter choice (facets), is not worth its cost.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    fields = [
        "reference",
        "customer",
        "status_now",
        "expires_in",
        "total",
        "created_at",
        "expires_at",
        "extension_count",
        "confirmed_at",
        "payment_reference",
        "cancelled_at",
        "refunded_amount",
        "cancel_reason",
        "expired_at",
        "idempotency_key",
    ]
    readonly_fields = fields
    inlines = [FlightItemInline, HotelItemInline, StatusHistoryInline]
    actions = ["release_or_cancel", "expire_overdue_now"]

    @admin.display(description="status", ordering="status")
    def status_now(self, booking: Booking) -> str:
        return BookingStatus(booking.effective_status).label

    @admin.display(description="expires in", ordering="expires_at")
    def expires_in(self, booking: Booking) -> str:
        if booking.status != BookingStatus.HELD:
            return "—"
        left = booking.expires_at - timezone.now()
        if left <= timedelta(0):
            return "overdue"
        return humanise(left)

    @admin.display(description="total", ordering="total_price")
    def total(self, booking: Booking) -> str:
        return f"{booking.total_price} {booking.currency}"

    # --- Nothing is edited by hand ----------------------------------------------------

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

    def has_expire_permission(self, request) -> bool:
        """Expiring overdue holds is releasing them early: the same right."""
        return request.user.has_perm(CANCEL_PERMISSION)

    # --- Actions ------------------------------------------------------------------------

    @admin.action(description="Release/cancel selected bookings", permissions=["cancel"])
    def release_or_cancel(self, request, queryset):
        lines = []
        for booking in queryset.order_by("pk"):
            before = booking.status
            try:
                after = services.cancel_booking(booking=booking, actor=request.user).status
            except DomainError as exc:
                lines.append((messages.ERROR, f"{booking.reference}: {exc.detail}"))
                continue
            lines.append(_transition_line(booking.reference, before, after))
        _report(request, self, lines)

    @admin.action(description="Expire overdue holds now (run the sweep)", permissions=["expire"])
    def expire_overdue_now(self, request, queryset):
        """Runs the sweep over every overdue hold, then says what became of
        each selected booking."""
        selected = {booking.pk: booking for booking in queryset.order_by("pk")}
        expired = services.expire_overdue_holds()
        after = dict(Booking.objects.filter(pk__in=selected).values_list("pk", "status"))
        lines = [
            (
                messages.INFO,
                f"The sweep expired {expired} overdue hold{'' if expired == 1 else 's'} in all.",
            )
        ]
        for pk, booking in selected.items():
            if after[pk] == BookingStatus.HELD and booking.is_overdue():
                lines.append(
                    (
                        messages.WARNING,
                        f"{booking.reference}: overdue but still held"
                        " (another sweep or request is releasing it), reads as expired",
                    )
                )
            elif after[pk] == BookingStatus.HELD:
                left = humanise(booking.expires_at - timezone.now())
                lines.append(
                    (messages.INFO, f"{booking.reference}: held, not overdue (expires in {left})")
                )
            else:
                lines.append(_transition_line(booking.reference, booking.status, after[pk]))
        _report(request, self, lines)


def _transition_line(reference: str, before: str, after: str) -> tuple[int, str]:
    if after == before:
        return messages.INFO, f"{reference}: already {before}, unchanged"
    return messages.SUCCESS, f"{reference}: {before} → {after}"


def _report(request, model_admin, lines: list[tuple[int, str]]) -> None:
    for level, text in lines[:REPORT_LINES]:
        model_admin.message_user(request, text, level)
    if len(lines) > REPORT_LINES:
        model_admin.message_user(
            request, f"… and {len(lines) - REPORT_LINES} more bookings.", messages.INFO
        )


def humanise(left: timedelta) -> str:
    """'4 min 05 s', '2 h 10 min', '3 d 4 h': how long a hold has left."""
    seconds = int(left.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"
