"""Enough admin to look at hotels, room types and nights. Room counters are
read-only here: they move only through the services (availability via the API)."""

from django.contrib import admin

from hotels.models import Hotel, RoomNight, RoomType

COUNTERS = ("total_rooms", "available_rooms", "held_rooms", "booked_rooms")


class RoomTypeInline(admin.TabularInline):
    model = RoomType
    fields = ("code", "name", "max_guests")
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Hotel)
class HotelAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "address")
    list_filter = ("city",)
    search_fields = ("name", "city", "address")
    inlines = [RoomTypeInline]


@admin.register(RoomType)
class RoomTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "hotel", "max_guests")
    list_filter = ("hotel",)
    search_fields = ("code", "name", "hotel__name")
    list_select_related = ("hotel",)


@admin.register(RoomNight)
class RoomNightAdmin(admin.ModelAdmin):
    list_display = ("date", "room_type", *COUNTERS, "price", "currency")
    list_filter = ("room_type__hotel", "room_type", "date")
    search_fields = ("room_type__code", "room_type__hotel__name")
    list_select_related = ("room_type__hotel",)
    date_hierarchy = "date"
    readonly_fields = ("room_type", "date", *COUNTERS, "price", "currency")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
