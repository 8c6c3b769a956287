"""Flights and their cabins in the back office.

Staff edit a cabin's total and price, and add cabins, on the flight's page; the
seat counters are never a form field. Every change goes through
`flights.services`, the same functions as the API, so the admin refuses
exactly what the API refuses:

- changes to cabins of an existing flight are applied while the cabin formset
  is validated, inside the admin's transaction: `change_cabin` locks the row
  (select_for_update) and checks the new total against held + booked, and its
  refusal becomes the form error. If any cabin is refused, none changes.
- a new flight is created with its cabins by `create_flight` once the flight
  form and the cabins are valid.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from config.admin_filters import UpcomingDateFilter
from config.admin_pagination import EstimatedCountPaginator
from config.exceptions import CapacityBelowCommitted, DomainError, ValidationFailed
from flights import services
from flights.api.serializers import CURRENCY_CODE
from flights.models import Flight, FlightInventory

COUNTERS = ("total_seats", "available_seats", "held_seats", "booked_seats")
READ_ONLY_COUNTERS = ("available_seats", "held_seats", "booked_seats")
FLIGHT_FIELDS = ("flight_number", "origin", "destination", "departure_at", "arrival_at")
# "HAN-SGN", "han sgn", "HAN→SGN", "HAN > SGN": a search for one direction.
ROUTE = re.compile(r"^\s*([A-Za-z]{3})\s*(?:-|–|→|>|\s)\s*([A-Za-z]{3})\s*$")


class _Refused(Exception):
    """A service refused a cabin: undo the cabins changed before it."""


def add_service_error(form: forms.BaseForm, exc: DomainError) -> None:
    """A service's refusal as the cabin form's errors: each error of a 400 on
    its field (when the form has it); a capacity refusal across the cabin's
    row, in the service's words, with the least total it allows on the field."""
    if isinstance(exc, ValidationFailed):
        for error in exc.extra["errors"]:
            name = error["field"] if error["field"] in form.fields else None
            form.add_error(name, error["detail"])
    elif isinstance(exc, CapacityBelowCommitted):
        form.add_error(None, exc.detail)
        form.add_error("total_seats", f"At least {exc.extra['held'] + exc.extra['booked']}.")
    else:
        form.add_error(None, exc.detail)


class ShownValue(forms.Widget):
    """A value that cannot change here, shown as text rather than as a
    greyed-out input (its field is disabled, so posted values are ignored)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, name, value, attrs=None, renderer=None):
        return format_html("<span>{}</span>", self.text)


class CabinForm(forms.ModelForm):
    """A cabin's class and currency are chosen when it is added, then fixed
    (the API cannot change them either)."""

    class Meta:
        model = FlightInventory
        fields = ("cabin_class", "total_seats", "price", "currency")

    def __init__(self, *args, flight_currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if "currency" in self.fields:
            self.fields["currency"].validators.append(CURRENCY_CODE)
        if self.instance.pk is not None:
            shown = {
                "cabin_class": self.instance.get_cabin_class_display(),
                "currency": self.instance.currency,
            }
            for name, text in shown.items():
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].widget = ShownValue(text)
        elif flight_currency and "currency" in self.fields:
            self.fields["currency"].initial = flight_currency


class CabinFormSet(forms.BaseInlineFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.flight_currency = None
        if self.instance.pk is not None:
            self.flight_currency = (
                self.instance.cabins.values_list("currency", flat=True).order_by("pk").first()
            )
        # What the services did, for the change message (see save_formset).
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "flight_currency": self.flight_currency}

    def filled_forms(self) -> list[forms.ModelForm]:
        return [form for form in self.forms if form.has_changed() and form.cleaned_data]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if self.instance.pk is None:
            self._check_new_flight()
        else:
            self._apply_to_flight()

    def _check_new_flight(self) -> None:
        """What the API's create body must satisfy; `create_flight` runs once
        the flight's own fields are valid too (FlightAdmin.save_related)."""
        filled = self.filled_forms()
        if not filled:
            raise forms.ValidationError("A flight needs at least one cabin.")
        currency = filled[0].cleaned_data["currency"]
        for form in filled[1:]:
            if form.cleaned_data["currency"] != currency:
                form.add_error("currency", "All cabins of a flight are sold in one currency.")

    def _apply_to_flight(self) -> None:
        """Change and add cabins through the services, existing cabins first
        in primary key order (the order every transaction locks them in)."""
        filled = sorted(
            self.filled_forms(),
            key=lambda form: (form.instance.pk is None, form.instance.pk or 0),
        )
        try:
            with transaction.atomic():
                for form in filled:
                    try:
                        self._apply(form)
                    except DomainError as exc:
                        add_service_error(form, exc)
                if any(form.errors for form in filled):
                    raise _Refused
        except _Refused:
            self.new_objects, self.changed_objects = [], []

    def _apply(self, form: forms.ModelForm) -> None:
        data = form.cleaned_data
        if form.instance.pk is None:
            cabin = services.add_cabin(
                flight_id=self.instance.pk,
                cabin_class=data["cabin_class"],
                total_seats=data["total_seats"],
                price=data["price"],
                currency=data["currency"],
            )
            self.new_objects.append(cabin)
            return
        changed = [name for name in ("total_seats", "price") if name in form.changed_data]
        if not changed:
            return
        cabin = services.change_cabin(
            flight_id=self.instance.pk,
            cabin_class=form.instance.cabin_class,
            **{name: data[name] for name in changed},
        )
        self.changed_objects.append((cabin, changed))


class CabinInline(admin.TabularInline):
    model = FlightInventory
    form = CabinForm
    formset = CabinFormSet
    fields = ("cabin_class", *COUNTERS, "price", "currency")
    readonly_fields = READ_ONLY_COUNTERS
    can_delete = False
    show_change_link = False
    max_num = len(FlightInventory._meta.get_field("cabin_class").choices)

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 1 if obj is None else 0


class RouteFilter(admin.SimpleListFilter):
    """Origin and destination together, as routes are flown."""

    title = "route"
    parameter_name = "route"

    def lookups(self, request, model_admin):
        routes = Flight.objects.values_list("origin", "destination").distinct()
        return [(f"{o}-{d}", f"{o} → {d}") for o, d in routes.order_by("origin", "destination")]

    def queryset(self, request, queryset):
        if self.value() and "-" in self.value():
            origin, destination = self.value().split("-", 1)
            return queryset.filter(origin=origin, destination=destination)
        return queryset


class FlightForm(forms.ModelForm):
    class Meta:
        model = Flight
        fields = FLIGHT_FIELDS

    def clean(self):
        """The checks of the API's create body that the model form would
        otherwise report as a bare constraint name (or, for the flight number
        per UTC day, not at all)."""
        data = super().clean()
        if {"origin", "destination"} <= data.keys() and data["origin"] == data["destination"]:
            self.add_error("destination", "The destination must differ from the origin.")
        departure, arrival = data.get("departure_at"), data.get("arrival_at")
        if departure and arrival and arrival <= departure:
            self.add_error("arrival_at", "The arrival must be after the departure.")
        number = data.get("flight_number")
        if (
            departure
            and number
            and Flight.objects.filter(
                flight_number=number, departure_date=Flight.departure_date_of(departure)
            ).exists()
        ):
            self.add_error("flight_number", "This flight number already departs on that date.")
        return data


@admin.register(Flight)
class FlightAdmin(admin.ModelAdmin):
    form = FlightForm
    list_display = (
        "flight_number",
        "route",
        "departure_at",
        "seats_available",
        "seats_committed",
    )
    list_filter = (
        ("departure_date", UpcomingDateFilter),
        RouteFilter,
        "origin",
        "destination",
    )
    search_fields = ("flight_number", "=origin", "=destination")
    search_help_text = "A flight number, an airport code, or a route such as HAN-SGN."
    date_hierarchy = "departure_date"
    show_facets = admin.ShowFacets.NEVER
    inlines = [CabinInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("cabins")

    def get_readonly_fields(self, request, obj=None):
        """A flight's schedule is fixed once it is on sale (the API cannot
        change it either): only its cabins change."""
        return FLIGHT_FIELDS + ("departure_date",) if obj is not None else ()

    def get_fields(self, request, obj=None):
        return FLIGHT_FIELDS + ("departure_date",) if obj is not None else FLIGHT_FIELDS

    def get_search_results(self, request, queryset, search_term):
        route = ROUTE.match(search_term)
        if route:
            origin, destination = (code.upper() for code in route.groups())
            return queryset.filter(origin=origin, destination=destination), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="route", ordering="origin")
    def route(self, flight: Flight) -> str:
        return f"{flight.origin}\N{NO-BREAK SPACE}→\N{NO-BREAK SPACE}{flight.destination}"

    @admin.display(description="available / total")
    def seats_available(self, flight: Flight) -> str:
        cabins = flight.cabins.all()
        return f"{sum(c.available_seats for c in cabins)} / {sum(c.total_seats for c in cabins)}"

    @admin.display(description="held + booked")
    def seats_committed(self, flight: Flight) -> str:
        cabins = flight.cabins.all()
        return f"{sum(c.held_seats for c in cabins)} + {sum(c.booked_seats for c in cabins)}"

    # --- Writes go through flights.services ------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationFailed as exc:
            # Only a flight created concurrently with the same number and day
            # gets here (FlightForm checked it first); the admin's transaction
            # has rolled back.
            for error in exc.extra["errors"]:
                self.message_user(request, error["detail"], messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        """Nothing to save here: a flight's own fields never change, and a new
        flight is created with its cabins in save_related."""

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
            return
        (cabins,) = [fs for fs in formsets if isinstance(fs, CabinFormSet)]
        flight = services.create_flight(
            **{name: form.cleaned_data[name] for name in FLIGHT_FIELDS},
            cabins=[
                {name: cabin.cleaned_data[name] for name in CabinForm.Meta.fields}
                for cabin in cabins.filled_forms()
            ],
        )
        # What the admin goes on with (its log entry, the redirect).
        form.instance.pk = flight.pk
        form.instance.departure_date = flight.departure_date
        cabins.new_objects = list(flight.cabins.all())

    def save_formset(self, request, form, formset, change):
        """The services applied the cabins while the formset was validated
        (CabinFormSet._apply_to_flight); saving the forms would write the
        counters they were read with."""


@admin.register(FlightInventory)
class FlightInventoryAdmin(admin.ModelAdmin):
    """Every cabin, to find what is full or empty; changed on its flight's page."""

    list_display = ("flight", "cabin_class", *COUNTERS, "price", "currency", "seat_map")
    list_filter = (("flight__departure_date", UpcomingDateFilter), "cabin_class")
    search_fields = ("flight__flight_number", "=flight__origin", "=flight__destination")
    list_select_related = ("flight",)
    show_facets = admin.ShowFacets.NEVER
    # A year of cabins: estimated when unfiltered, never counted twice.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = ("flight", "cabin_class", *COUNTERS, "price", "currency")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="seat map")
    def seat_map(self, cabin: FlightInventory) -> str:
        """The cabin's seat map page (served by the admin site), where staff
        see who holds each seat and block seats."""
        if not cabin.has_seat_map:
            return "—"
        url = reverse("admin:seat_map", args=[cabin.pk])
        return format_html('<a href="{}">{} blocked · open</a>', url, cabin.blocked_seats)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
