"""The staff back office: the Django admin site, plus the operations dashboard
served by the site itself, so it has the admin's look, login and checks."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from bookings import charts
from bookings.dashboard import dashboard
from bookings.seat_map_admin import seat_map_view
from config.replicas import use_replica
from payments.dashboard import payment_figures

DASHBOARD_PERMISSION = "bookings.view_booking"

SEATS_OR_ROOMS = [
    charts.Series("booked", "Booked", "booked"),
    charts.Series("held", "Held", "held"),
    charts.Series("available", "Available", "available"),
]


class BackOfficeSite(admin.AdminSite):
    site_header = "Travel inventory back office"
    site_title = "Travel back office"
    index_title = "Back office"

    def get_urls(self):
        return [
            path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard"),
            path(
                "flights/flightinventory/<int:cabin_id>/seat-map/",
                self.admin_view(lambda request, cabin_id: seat_map_view(self, request, cabin_id)),
                name="seat_map",
            ),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        extra_context = {
            "can_view_dashboard": request.user.has_perm(DASHBOARD_PERMISSION),
            **(extra_context or {}),
        }
        return super().index(request, extra_context)

    def dashboard_view(self, request):
        """Anyone who may look at bookings (both staff groups) sees it."""
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            raise PermissionDenied
        now = timezone.now()
        figures, payments = _report(now)
        context = {
            **self.each_context(request),
            "title": "Operations dashboard",
            "d": figures,
            "inventory_rows": [("Seats", figures.seats), ("Room-nights", figures.rooms)],
            "conversion_decided": _percent(figures.conversion.rate_decided),
            "conversion_overall": _percent(figures.conversion.rate_overall),
            "payments": payments,
            "paid_conversion": _percent(payments.paid_rate),
            "lock_timeouts_total": sum((figures.lock_timeouts.recent or {}).values()),
            "lock_timeouts_this_process": sum(figures.lock_timeouts.this_process.values()),
            "seat_chart": _units_chart("Seats by departure day, next 30 days", figures.seats),
            "room_chart": _units_chart("Room-nights by night, next 30 days", figures.rooms),
            "holds_chart": charts.stacked_bars(
                "Holds created per hour, last 24 hours (UTC)",
                [(f"{hour:%H}h", {"holds": n}) for hour, n in figures.holds_per_hour],
                [charts.Series("holds", "Holds", "holds")],
                label_every=3,
            ),
        }
        return TemplateResponse(request, "admin/dashboard.html", context)


@use_replica
def _report(now):
    """Read-only figures, where a moment of replica lag does not matter."""
    return dashboard(now), payment_figures(now)


def _units_chart(title: str, figures) -> charts.Chart:
    return charts.stacked_bars(
        title,
        [
            (f"{day:%d %b}", {"booked": u.booked, "held": u.held, "available": u.available})
            for day, u in figures.by_day
        ],
        SEATS_OR_ROOMS,
        label_every=5,
    )


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"
