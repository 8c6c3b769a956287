"""List filters the back office's inventory pages share."""

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone


class UpcomingDateFilter(admin.DateFieldListFilter):
    """Dates as inventory staff look at them: what is coming up, not (as
    Django's own date filter offers) the past 7 days. For date fields; the
    flights' `departure_date` and the nights' `date` are both UTC dates, and
    the site runs in UTC."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        today = timezone.localdate()
        since, until = self.lookup_kwarg_since, self.lookup_kwarg_until
        self.links = (
            ("Any date", {}),
            ("Past", {until: today}),
            ("Today", {since: today, until: today + timedelta(days=1)}),
            ("Next 7 days", {since: today, until: today + timedelta(days=7)}),
            ("Next 30 days", {since: today, until: today + timedelta(days=30)}),
            ("From today on", {since: today}),
        )
