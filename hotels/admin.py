"""Hotels, room types and room nights in the back office.

Hotels and room types are descriptive and edited as such. Room nights are
listed, never edited by hand: what is on sale is set for a range of nights at
once with "Set availability for a date range" (on a room type), which calls
`hotels.services.set_room_availability`, the service of the API's
availability PUT, and shows its refusals as form errors.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from config.admin_filters import UpcomingDateFilter
from config.admin_pagination import EstimatedCountPaginator
from config.exceptions import CapacityBelowCommitted, ValidationFailed
from hotels import services
from hotels.api.serializers import CURRENCY_CODE
from hotels.models import MAX_ROOMS, SET_AVAILABILITY_PERMISSIONS, Hotel, RoomNight, RoomType

COUNTERS = ("total_rooms", "available_rooms", "held_rooms", "booked_rooms")
# Nights named in a capacity refusal; the rest are counted.
NIGHTS_LISTED = 10


def availability_url(room_type: RoomType) -> str:
    return reverse("admin:hotels_roomtype_availability", args=[room_type.pk])


def nights_url(room_type: RoomType, **dates) -> str:
    query = {"room_type__id__exact": room_type.pk, **{k: str(v) for k, v in dates.items()}}
    return f"{reverse('admin:hotels_roomnight_changelist')}?{urlencode(query)}"


class AvailabilityForm(forms.Form):
    """The body of the API's availability PUT. The range itself (end after
    start, at most a year) is the service's to judge."""

    start = forms.DateField(widget=AdminDateWidget, help_text="The first night set.")
    end = forms.DateField(
        widget=AdminDateWidget,
        help_text="Exclusive: the last night set is the one before this date.",
    )
    total_rooms = forms.IntegerField(min_value=0, max_value=MAX_ROOMS)
    price = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, help_text="A night of one room."
    )
    currency = forms.CharField(max_length=3, validators=[CURRENCY_CODE])


def capacity_refusal(exc: CapacityBelowCommitted) -> str:
    nights = exc.extra["nights"]
    listed = ", ".join(
        f"{night['date']} ({night['committed']} held or booked)" for night in nights[:NIGHTS_LISTED]
    )
    more = f" and {len(nights) - NIGHTS_LISTED} more" if len(nights) > NIGHTS_LISTED else ""
    return f"{exc.detail} Nothing was changed. {listed}{more}."


def may_set_availability(request) -> bool:
    return request.user.has_perms(SET_AVAILABILITY_PERMISSIONS)


class RoomTypeInline(admin.TabularInline):
    model = RoomType
    fields = ("code", "name", "max_guests", "availability")
    readonly_fields = ("availability",)
    extra = 0
    can_delete = False
    show_change_link = True

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return (
            fields if may_set_availability(request) else [f for f in fields if f != "availability"]
        )

    @admin.display(description="availability")
    def availability(self, room_type: RoomType) -> str:
        if room_type.pk is None:
            return "—"
        return format_html(
            '<a href="{}">Set for a date range</a> · <a href="{}">Nights</a>',
            availability_url(room_type),
            nights_url(room_type),
        )


@admin.register(Hotel)
class HotelAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "address", "room_type_count")
    list_filter = ("city",)
    search_fields = ("name", "city", "address")
    show_facets = admin.ShowFacets.NEVER
    inlines = [RoomTypeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(room_type_count=Count("room_types"))

    @admin.display(description="room types", ordering="room_type_count")
    def room_type_count(self, hotel: Hotel) -> int:
        return hotel.room_type_count


@admin.register(RoomType)
class RoomTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "hotel", "max_guests", "availability")
    list_filter = ("hotel__city", "hotel")
    search_fields = ("code", "name", "hotel__name")
    list_select_related = ("hotel",)
    show_facets = admin.ShowFacets.NEVER
    change_form_template = "admin/hotels/roomtype/change_form.html"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/availability/",
                self.admin_site.admin_view(self.availability_view),
                name="hotels_roomtype_availability",
            ),
            *super().get_urls(),
        ]

    def has_set_availability_permission(self, request) -> bool:
        return may_set_availability(request)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if may_set_availability(request):
            return shown
        return [column for column in shown if column != "availability"]

    @admin.display(description="availability")
    def availability(self, room_type: RoomType) -> str:
        return format_html('<a href="{}">Set for a date range</a>', availability_url(room_type))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "can_set_availability": self.has_set_availability_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def availability_view(self, request, object_id):
        """Set total rooms, price and currency for every night of a range."""
        room_type = self.get_object(request, object_id)
        if room_type is None:
            raise Http404
        if not (
            self.has_set_availability_permission(request)
            and self.has_view_or_change_permission(request, room_type)
        ):
            raise PermissionDenied
        on_sale = RoomNight.objects.filter(room_type=room_type).aggregate(
            nights=Count("pk"), first=Min("date"), last=Max("date")
        )
        currency = (
            RoomNight.objects.filter(room_type=room_type).values_list("currency", flat=True).first()
        )
        if request.method == "POST":
            form = AvailabilityForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    nights = services.set_room_availability(room_type=room_type, **data)
                except ValidationFailed as exc:
                    for error in exc.extra["errors"]:
                        name = error["field"] if error["field"] in form.fields else None
                        form.add_error(name, error["detail"])
                except CapacityBelowCommitted as exc:
                    form.add_error("total_rooms", capacity_refusal(exc))
                else:
                    self.message_user(
                        request,
                        f"Set {nights} night{'' if nights == 1 else 's'} of {room_type}, "
                        f"{data['start']} to {data['end']} (exclusive): {data['total_rooms']} "
                        f"rooms at {data['price']} {data['currency']}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        nights_url(room_type, date__gte=data["start"], date__lt=data["end"])
                    )
        else:
            form = AvailabilityForm(initial={"currency": currency or "EUR"})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set availability: {room_type}",
            "subtitle": None,
            "opts": self.opts,
            "original": room_type,
            "form": form,
            "media": self.media + form.media,
            "on_sale": on_sale,
            "currency": currency,
            "nights_url": nights_url(room_type),
            "max_nights": services.MAX_AVAILABILITY_NIGHTS,
        }
        return TemplateResponse(request, "admin/hotels/roomtype/availability.html", context)


class RoomTypeFilter(admin.RelatedFieldListFilter):
    """The room types of the chosen hotel (or of the chosen room type's
    hotel), named with it in one query. With no hotel chosen it offers none
    and hides: every room type of 2,000 hotels is 8,000 links on every page."""

    def field_choices(self, field, request, model_admin):
        hotel = request.GET.get("room_type__hotel__id__exact", "")
        room_type = request.GET.get(self.lookup_kwarg, "")
        if hotel.isdigit():
            room_types = RoomType.objects.filter(hotel_id=hotel)
        elif room_type.isdigit():
            room_types = RoomType.objects.filter(hotel__room_types=room_type)
        else:
            return []
        room_types = room_types.select_related("hotel").order_by("code", "pk")
        return [(room_type.pk, str(room_type)) for room_type in room_types]

    def has_output(self) -> bool:
        """Shown, and so applied (the changelist drops a filter without
        output), whenever it is chosen or has choices: a hotel's one room
        type counts."""
        return bool(self.lookup_choices) or self.lookup_kwarg in self.used_parameters


@admin.register(RoomNight)
class RoomNightAdmin(admin.ModelAdmin):
    list_display = ("date", "hotel", "room_type_code", *COUNTERS, "price", "currency")
    list_filter = (
        "room_type__hotel",
        ("room_type", RoomTypeFilter),
        ("date", UpcomingDateFilter),
    )
    search_fields = ("room_type__code", "room_type__hotel__name")
    list_select_related = ("room_type__hotel",)
    # No date_hierarchy: its links read every distinct year (then month, day)
    # of a year of nights, a scan of the table on every page. The date filter
    # above and `?date__gte=…&date__lt=…` go through the (date, ...) index.
    # Nights of a day together, in an order the (date, ...) index serves.
    ordering = ("date", "room_type_id")
    show_facets = admin.ShowFacets.NEVER
    # A year of nights: estimated when unfiltered, never counted twice.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = ("room_type", "date", *COUNTERS, "price", "currency")

    @admin.display(description="hotel", ordering="room_type__hotel__name")
    def hotel(self, night: RoomNight) -> str:
        return night.room_type.hotel.name

    @admin.display(description="room type", ordering="room_type__code")
    def room_type_code(self, night: RoomNight) -> str:
        return night.room_type.code

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
