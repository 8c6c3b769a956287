"""The outbox's figures on /metrics.

Counters are counted where the thing happens (relay, delivery attempt,
email) and add up across processes like every other figure. The outbox's
state (what is pending, how old, which endpoints are failing) is read from
the database when /metrics is scraped (`OutboxCollector`), because no one
process sees it: a few index-backed aggregates per scrape."""

import logging

from django.db import DatabaseError
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

events_relayed = Counter(
    "travel_events_relayed_total", "Events handed by the relay to their consumers.", ["type"]
)
delivery_attempts = Counter(
    "travel_webhook_attempts_total",
    "Webhook POSTs made, by outcome: delivered (2xx) or failed.",
    ["outcome"],
)
deliveries_given_up = Counter(
    "travel_webhook_deliveries_failed_total",
    "Webhook deliveries marked failed after their last attempt.",
)
delivery_latency = Histogram(
    "travel_webhook_delivery_latency_seconds",
    "From the event's creation to its delivery (2xx) to an endpoint.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400),
)
endpoints_disabled = Counter(
    "travel_webhook_endpoints_disabled_total",
    "Endpoints turned off after failing for WEBHOOK_DISABLE_AFTER_HOURS.",
)
emails = Counter(
    "travel_customer_emails_total",
    "Customer emails by kind and outcome: sent, failed (will retry), given_up, skipped.",
    ["kind", "outcome"],
)
for _outcome in ("delivered", "failed"):
    delivery_attempts.labels(outcome=_outcome)


class OutboxCollector:
    """Read at scrape time; a database that does not answer leaves these
    figures out of the scrape rather than failing it."""

    def collect(self):
        from events.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

        now = timezone.now()
        try:
            relayed = Event.objects.aggregate(last=Max("sequence"))["last"] or 0
            pending = Event.objects.filter(relayed_at__isnull=True).aggregate(
                count=Count("id"), oldest=Min("created_at")
            )
            oldest_undelivered = WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING
            ).aggregate(oldest=Min("event__created_at"))["oldest"]
            failing = WebhookEndpoint.objects.aggregate(
                failing=Count("id", filter=Q(is_active=True, failing_since__isnull=False)),
                disabled=Count("id", filter=Q(is_active=False)),
            )
        except DatabaseError as exc:
            logger.warning("metrics: the outbox figures could not be read: %r", exc)
            return
        written = CounterMetricFamily(
            "travel_events_written",
            "Events committed to the outbox (relayed, each with its sequence, plus pending).",
        )
        written.add_metric([], relayed + pending["count"])
        yield written
        yield GaugeMetricFamily(
            "travel_outbox_pending_events", "Events not yet relayed.", value=pending["count"]
        )
        yield GaugeMetricFamily(
            "travel_outbox_lag_seconds",
            "Age of the oldest event not yet relayed (0 when none is).",
            value=_age(pending["oldest"], now),
        )
        yield GaugeMetricFamily(
            "travel_webhook_oldest_undelivered_seconds",
            "Age of the oldest event with a pending delivery (0 when none is).",
            value=_age(oldest_undelivered, now),
        )
        endpoints = GaugeMetricFamily(
            "travel_webhook_endpoints", "Webhook endpoints by state.", labels=["state"]
        )
        endpoints.add_metric(["failing"], failing["failing"])
        endpoints.add_metric(["disabled"], failing["disabled"])
        yield endpoints


def _age(moment, now) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment else 0.0


outbox_registry = CollectorRegistry(auto_describe=False)
outbox_registry.register(OutboxCollector())
