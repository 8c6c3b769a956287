from rest_framework import serializers

from config.api.fields import StrictCharField
from events.models import (
    DeliveryAttempt,
    Event,
    EventType,
    WebhookEndpoint,
    validate_receiver_url,
)

MAX_FEED_PAGE = 100


class EventSerializer(serializers.ModelSerializer):
    """An event as the feed shows it and as webhooks carry it."""

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "data"]


class EventFeedQuerySerializer(serializers.Serializer):
    after = serializers.RegexField(
        r"^evt_[0-9a-f]{20}$",
        required=False,
        error_messages={"invalid": "Not an event id (evt_ and 20 hex digits)."},
    )
    type = serializers.ChoiceField(choices=EventType.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_FEED_PAGE, default=MAX_FEED_PAGE)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """The URL's rules are the model field's validator (the admin's too)."""

    url = serializers.URLField(
        max_length=2000, validators=[validate_receiver_url], help_text="https in production."
    )
    description = StrictCharField(max_length=255, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False, max_length=50
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "is_active",
            "created_at",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = ["created_at", "failing_since", "disabled_at", "disabled_reason"]

    def validate_event_types(self, types: list[str]) -> list[str]:
        return sorted(set(types))


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The answer to a create: the only one that shows the secret."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="delivery.event_id", read_only=True)
    attempt = serializers.IntegerField(source="number", read_only=True)
    delivered_at = serializers.SerializerMethodField(
        help_text="When this attempt delivered the event (a 2xx answer); null when it failed."
    )

    class Meta:
        model = DeliveryAttempt
        fields = [
            "event",
            "attempt",
            "status_code",
            "error",
            "duration_ms",
            "delivered_at",
            "attempted_at",
        ]

    def get_delivered_at(self, attempt: DeliveryAttempt) -> str | None:
        if not attempt.succeeded:
            return None
        return serializers.DateTimeField().to_representation(attempt.attempted_at)
