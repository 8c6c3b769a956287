"""BookingSerializer builds its answer from its declared fields itself, rather
than through DRF's loop, which deep-copies every field for each answer. These
tests hold it to what DRF's loop answers for the same booking."""

import pytest
from rest_framework import serializers

from bookings import selectors, services
from bookings.api.serializers import BookingSerializer
from tests.holds import hold_through_services, make_overdue

pytestmark = pytest.mark.django_db


def drf_answer(booking):
    """What DRF's own Serializer.to_representation answers."""
    return serializers.Serializer.to_representation(BookingSerializer(booking), booking)


def test_a_held_booking_with_both_kinds_of_item(customer, cabin, room_type):
    booking = hold_through_services(customer, cabin, seats=2, room_type=room_type, rooms=1)
    booking = selectors.booking_for(customer, booking.reference)

    answer = BookingSerializer(booking).data
    assert answer == drf_answer(booking)
    assert [item["type"] for item in answer["items"]] == ["flight", "hotel"]
    assert answer["confirmed_at"] is None and answer["payment_reference"] is None


def test_a_confirmed_booking(customer, cabin):
    booking = hold_through_services(customer, cabin)
    services.confirm_booking(booking=booking, payment_reference="pay-1", actor=customer)
    booking = selectors.booking_for(customer, booking.reference)

    answer = BookingSerializer(booking).data
    assert answer == drf_answer(booking)
    assert answer["status"] == "confirmed"
    assert answer["payment_reference"] == "pay-1"
    assert answer["confirmed_at"].endswith("Z")


def test_an_overdue_hold_reads_as_expired(customer, cabin):
    booking = hold_through_services(customer, cabin)
    make_overdue(booking)
    booking = selectors.booking_for(customer, booking.reference)

    answer = BookingSerializer(booking).data
    assert answer == drf_answer(booking)
    assert answer["status"] == "expired"


def test_a_payment_with_its_method_field_and_dotted_source(customer, cabin):
    from payments import services as payments
    from payments.api.serializers import PaymentSerializer

    booking = hold_through_services(customer, cabin)
    payment = payments.start_payment(booking=booking, actor=customer).payment

    answer = PaymentSerializer(payment).data
    assert answer == serializers.Serializer.to_representation(PaymentSerializer(payment), payment)
    assert answer["booking"] == booking.reference
    assert answer["checkout_url"] == f"/sandbox/checkout/{payment.id}/"
    assert answer["refunded_amount"] == "0.00" and answer["client_secret"] is None
