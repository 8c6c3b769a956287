"""What a relay run costs per event once runs carry tens of events (the
relay's wait gathers them: README, "Events, webhooks and emails"), in Python
calls, a figure the machine's load does not move."""

from events import deliveries
from events.models import Event, WebhookDelivery
from events.services import relay_pending
from tests.events.conftest import subscribe
from tests.expiry.test_sweep_cost import python_calls

# Python calls per event relayed in a batch of 40 with one endpoint
# subscribed: 292 while its deliveries were made with bulk_create (every
# field of every row prepared in Python), 42 with one INSERT ... SELECT.
CALLS_PER_EVENT = 100


def test_a_relay_run_stays_under_its_python_calls_per_event(db):
    subscribe("http://127.0.0.1:9/hooks/")
    Event.objects.bulk_create(
        Event(type=kind, data={"booking": {"reference": f"R{i:05}"}})
        for i in range(20)
        for kind in ("booking.held", "booking.released")
    )
    calls = python_calls(relay_pending)
    assert WebhookDelivery.objects.count() == 40
    per_event = calls / 40
    print(f"{per_event:.0f} Python calls per event relayed")
    assert per_event < CALLS_PER_EVENT


def test_a_delivery_waits_in_its_bookings_line_and_an_event_without_one_in_none(db):
    subscribe("http://127.0.0.1:9/hooks/")
    Event.objects.create(type="booking.held", data={"booking": {"reference": "ABC123"}})
    Event.objects.create(type="booking.held", data={"booking": {}})
    Event.objects.create(type="booking.held", data={"booking": "not an object"})
    relay_pending()
    assert sorted(WebhookDelivery.objects.values_list("ordering_key", flat=True)) == [
        "",
        "",
        "ABC123",
    ]


# Python calls per delivery of one endpoint's round of 20 (the receiver's
# work is on its server's thread, not counted): 988 while each event had a
# serializer of its own and the attempts went through bulk_create, 698 with
# one serializer per round and the attempts in one INSERT of arrays.
CALLS_PER_DELIVERY = 800


def test_a_delivery_round_stays_under_its_python_calls_per_delivery(endpoint, receiver):
    receiver.expect_request("/hooks").respond_with_data("ok")
    Event.objects.bulk_create(
        Event(type="booking.held", data={"booking": {"reference": f"R{i:05}"}}) for i in range(20)
    )
    relay_pending()
    calls = python_calls(lambda: deliveries.deliver_endpoint(endpoint.pk))
    assert WebhookDelivery.objects.filter(status="delivered").count() == 20
    per_delivery = calls / 20
    print(f"{per_delivery:.0f} Python calls per delivery")
    assert per_delivery < CALLS_PER_DELIVERY
