"""The outbox in the back office: events (read-only, "redeliver"), webhook
endpoints (create, edit, turn off or on, delete; the secret is shown once,
when it is made), their deliveries with every attempt ("redeliver"), and the
customer emails. Every change goes through the same services as the API."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from events import deliveries
from events.models import (
    CustomerEmail,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)

# Who may send events again: whoever may change the endpoints.
REDELIVER_PERMISSION = "events.change_webhookendpoint"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "created_at", "relayed_at", "sequence"]
    list_filter = ["type"]
    search_fields = ["id"]
    ordering = ["-id"]
    readonly_fields = ["id", "type", "created_at", "data", "relayed_at", "sequence"]
    actions = ["redeliver"]

    @admin.action(description="Redeliver to every subscribed endpoint", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        count = deliveries.redeliver_events(list(queryset.exclude(relayed_at=None)))
        self.message_user(request, f"{count} deliveries scheduled.", messages.SUCCESS)

    def has_redeliver_permission(self, request):
        return request.user.has_perm(REDELIVER_PERMISSION)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "event_types", "description"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = [
        "url",
        "is_active",
        "failing_since",
        "disabled_reason",
        "pending",
        "failed",
        "deliveries_link",
    ]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["is_active", "created_at", "failing_since", "disabled_at", "disabled_reason"]
    actions = ["turn_off", "turn_on"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count(
                    "deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)
                ),
                failed_count=Count(
                    "deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)
                ),
            )
        )

    @admin.display(description="pending", ordering="pending_count")
    def pending(self, endpoint):
        return endpoint.pending_count

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, endpoint):
        return endpoint.failed_count

    @admin.display(description="deliveries")
    def deliveries_link(self, endpoint):
        url = reverse("admin:events_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">deliveries</a>', url, endpoint.pk)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                f"Signing secret of {obj.url} (shown only now, keep it in the receiver): "
                f"{obj.secret}",
                messages.WARNING,
            )

    @admin.action(description="Turn off selected endpoints", permissions=["change"])
    def turn_off(self, request, queryset):
        for endpoint in queryset:
            deliveries.set_endpoint_active(endpoint, False)
        self.message_user(request, f"{len(queryset)} endpoints turned off.", messages.SUCCESS)

    @admin.action(description="Turn on selected endpoints", permissions=["change"])
    def turn_on(self, request, queryset):
        for endpoint in queryset:
            deliveries.set_endpoint_active(endpoint, True)
        self.message_user(request, f"{len(queryset)} endpoints turned on.", messages.SUCCESS)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "attempted_at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    ]
    list_filter = ["status", "endpoint"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__id", "ordering_key"]
    readonly_fields = [
        "event",
        "endpoint",
        "ordering_key",
        "status",
        "attempts",
        "round_attempts",
        "next_attempt_at",
        "leased_until",
        "delivered_at",
        "last_error",
        "created_at",
    ]
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.display(description="type", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("events.view_webhookendpoint")

    @admin.action(description="Redeliver selected", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        count = deliveries.redeliver(queryset)
        self.message_user(request, f"{count} deliveries scheduled again.", messages.SUCCESS)

    def has_redeliver_permission(self, request):
        return request.user.has_perm(REDELIVER_PERMISSION)


@admin.register(CustomerEmail)
class CustomerEmailAdmin(ReadOnlyAdmin):
    list_display = ["event", "kind", "status", "recipient", "attempts", "sent_at", "last_error"]
    list_filter = ["kind", "status"]
    search_fields = ["event__id", "recipient"]
    readonly_fields = [
        "event",
        "kind",
        "status",
        "recipient",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
