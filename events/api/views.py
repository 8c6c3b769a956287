"""Thin views over the outbox (docs/api.md, Events and webhooks): staff only."""

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from config.api.permissions import StaffModelPermissions
from events import selectors
from events.api.serializers import (
    DeliveryAttemptSerializer,
    EventFeedQuerySerializer,
    EventSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from events.deliveries import set_endpoint_active
from events.models import DeliveryAttempt, Event, WebhookEndpoint


class EventFeedView(generics.GenericAPIView):
    permission_classes = [StaffModelPermissions]
    permission_model = Event
    serializer_class = EventSerializer
    pagination_class = None

    @extend_schema(
        parameters=[EventFeedQuerySerializer],
        responses=inline_serializer(
            "EventFeed",
            {
                "results": EventSerializer(many=True),
                "next": serializers.URLField(allow_null=True),
            },
        ),
    )
    def get(self, request):
        """Events oldest first (in commit order); `next` is the following
        page while this one is full, null when the feed is caught up (poll
        again with `?after=` the last id)."""
        query = EventFeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        try:
            events = selectors.event_feed(
                after=query.validated_data.get("after"),
                type=query.validated_data.get("type"),
                limit=limit,
            )
        except selectors.UnknownCursor:
            raise serializers.ValidationError(
                {"after": [serializers.ErrorDetail("No event with this id.", code="not_found")]}
            ) from None
        following = None
        if len(events) == limit:
            following = replace_query_param(request.build_absolute_uri(), "after", events[-1].pk)
        return Response({"results": EventSerializer(events, many=True).data, "next": following})


class WebhookEndpointViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints; PATCH `{"is_active": false}` turns one off (and
    `true` on again, starting a new failing streak)."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    permission_classes = [StaffModelPermissions]
    permission_model = WebhookEndpoint
    lookup_value_regex = "[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save()
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        active = serializer.validated_data.pop("is_active", None)
        with transaction.atomic():
            endpoint = serializer.save()
            if active is not None and active != endpoint.is_active:
                set_endpoint_active(endpoint, active)

    @extend_schema(responses=DeliveryAttemptSerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """Every attempt made to this endpoint, newest first."""
        endpoint = self.get_object()
        attempts = (
            DeliveryAttempt.objects.filter(delivery__endpoint=endpoint)
            .select_related("delivery")
            .order_by("-attempted_at", "-id")
        )
        page = self.paginate_queryset(attempts)
        return self.get_paginated_response(DeliveryAttemptSerializer(page, many=True).data)
