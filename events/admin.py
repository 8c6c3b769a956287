from django.contrib import admin

from events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "created_at", "relayed_at"]
    list_filter = ["type"]
    search_fields = ["id"]
    ordering = ["-id"]
    readonly_fields = ["id", "type", "created_at", "data", "relayed_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
