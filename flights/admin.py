"""Enough admin to look at flights and their cabins. Seat counters are read-only
here: they move only through the services (cabin changes via the API)."""

from django.contrib import admin

from flights.models import Flight, FlightInventory

COUNTERS = ("total_seats", "available_seats", "held_seats", "booked_seats")


class CabinInline(admin.TabularInline):
    model = FlightInventory
    fields = ("cabin_class", *COUNTERS, "price", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Flight)
class FlightAdmin(admin.ModelAdmin):
    list_display = (
        "flight_number",
        "origin",
        "destination",
        "departure_at",
        "arrival_at",
        "departure_date",
    )
    list_filter = ("departure_date", "origin", "destination")
    search_fields = ("flight_number", "origin", "destination")
    date_hierarchy = "departure_at"
    readonly_fields = ("departure_date",)
    inlines = [CabinInline]


@admin.register(FlightInventory)
class FlightInventoryAdmin(admin.ModelAdmin):
    list_display = ("flight", "cabin_class", *COUNTERS, "price", "currency")
    list_filter = ("cabin_class", "flight__departure_date")
    search_fields = ("flight__flight_number",)
    list_select_related = ("flight",)
    readonly_fields = ("flight", "cabin_class", *COUNTERS, "price", "currency")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
