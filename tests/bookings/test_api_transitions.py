"""confirm, cancel, extend, and what expiry does to each (docs/api.md, Bookings)."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bookings.models import Actor, Booking, BookingStatus
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.booking_requests import booking_url, flight_item, hold_through_api, hotel_item
from tests.holds import make_overdue


def seats(cabin):
    cabin.refresh_from_db()
    return (cabin.available_seats, cabin.held_seats, cabin.booked_seats)


def rooms(room_type):
    return sorted(
        {
            (night.available_rooms, night.held_rooms, night.booked_rooms)
            for night in RoomNight.objects.filter(room_type=room_type)
        }
    )


def history(reference):
    return list(
        Booking.objects.get(reference=reference).history.values_list(
            "from_status", "to_status", "actor_kind"
        )
    )


@pytest.fixture
def held(customer_client, cabin, room_type):
    """A hold of 2 seats and 3 nights of 1 room, by `customer`."""
    response = hold_through_api(
        customer_client, flight_item(cabin, 2), hotel_item(room_type, nights=3)
    )
    assert response.status_code == 201
    return response.json()["reference"]


def confirm(client, reference, payment_reference="pay-123"):
    return client.post(booking_url(reference, "confirm"), {"payment_reference": payment_reference})


# --- Confirm ---------------------------------------------------------------------------


def test_confirm_books_the_held_units(customer_client, staff_client, held, cabin, room_type):
    response = confirm(staff_client, held)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["payment_reference"] == "pay-123"
    assert datetime.fromisoformat(body["confirmed_at"]) <= timezone.now()
    assert body["cancelled_at"] is None
    assert seats(cabin) == (8, 0, 2)
    assert rooms(room_type) == [(4, 0, 1), (5, 0, 0)]
    assert history(held)[-1] == ("held", "confirmed", Actor.STAFF)


def test_confirm_again_with_the_same_payment_reference_changes_nothing(
    customer_client, staff_client, held, cabin
):
    first = confirm(staff_client, held).json()
    again = confirm(staff_client, held)
    assert again.status_code == 200
    assert again.json() == first
    assert seats(cabin) == (8, 0, 2)
    assert len(history(held)) == 2


def test_confirm_again_with_another_payment_reference_is_a_409(
    customer_client, staff_client, held, cabin
):
    confirm(staff_client, held, "pay-1")
    response = confirm(staff_client, held, "pay-2")
    assert response.status_code == 409
    assert response.json()["code"] == "payment_reference_mismatch"
    assert Booking.objects.get(reference=held).payment_reference == "pay-1"
    assert seats(cabin) == (8, 0, 2)


def test_a_customer_confirming_is_told_to_pay(customer_client, held, cabin):
    """The provider's word confirms a customer's hold, never their own."""
    response = confirm(customer_client, held)
    assert response.status_code == 402
    assert response.json()["code"] == "payment_required"
    assert Booking.objects.get(reference=held).status == BookingStatus.HELD
    assert seats(cabin) == (8, 2, 0)


def test_another_customer_confirming_gets_a_404(other_client, held, cabin):
    response = confirm(other_client, held)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert seats(cabin) == (8, 2, 0)


def test_confirm_of_a_released_booking_is_invalid_state(customer_client, staff_client, held, cabin):
    customer_client.post(booking_url(held, "cancel"))
    response = confirm(staff_client, held)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert seats(cabin) == (10, 0, 0)


def test_confirm_accepts_the_reference_in_any_case(customer_client, staff_client, held):
    assert confirm(staff_client, held.lower()).json()["status"] == "confirmed"


# --- Cancel ----------------------------------------------------------------------------


def test_cancel_of_a_hold_releases_it(customer_client, held, cabin, room_type):
    response = customer_client.post(booking_url(held, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "released"
    assert response.json()["cancelled_at"]
    assert seats(cabin) == (10, 0, 0)
    assert rooms(room_type) == [(5, 0, 0)]
    assert history(held)[-1] == ("held", "released", Actor.CUSTOMER)


def test_cancel_of_a_confirmed_booking_cancels_it(
    customer_client, staff_client, held, cabin, room_type
):
    confirm(staff_client, held)
    response = customer_client.post(booking_url(held, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert seats(cabin) == (10, 0, 0)
    assert rooms(room_type) == [(5, 0, 0)]
    assert history(held)[-1] == ("confirmed", "cancelled", Actor.CUSTOMER)


@pytest.mark.parametrize("confirmed", [False, True], ids=["released", "cancelled"])
def test_cancel_again_changes_nothing(customer_client, staff_client, held, cabin, confirmed):
    if confirmed:
        confirm(staff_client, held)
    first = customer_client.post(booking_url(held, "cancel")).json()
    again = customer_client.post(booking_url(held, "cancel"))
    assert again.status_code == 200
    assert again.json() == first
    assert seats(cabin) == (10, 0, 0)
    assert len(history(held)) == (3 if confirmed else 2)


def test_staff_may_cancel_anothers_booking(staff_client, held, cabin):
    response = staff_client.post(booking_url(held, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "released"
    assert seats(cabin) == (10, 0, 0)
    assert history(held)[-1] == ("held", "released", Actor.STAFF)


def test_another_customer_cancelling_gets_a_404(other_client, held, cabin):
    assert other_client.post(booking_url(held, "cancel")).status_code == 404
    assert seats(cabin) == (8, 2, 0)


# --- Extend ----------------------------------------------------------------------------


def test_extend_moves_expires_at_to_now_plus_the_hold_time(settings, customer_client, held):
    settings.HOLD_TTL_SECONDS = 900
    created = customer_client.get(booking_url(held)).json()
    # An hour-old hold (but not yet expired) shows that extend counts from now.
    Booking.objects.filter(reference=held).update(
        created_at=timezone.now() - timedelta(hours=1),
        expires_at=timezone.now() + timedelta(seconds=60),
    )
    before = timezone.now()
    response = customer_client.post(booking_url(held, "extend"))
    assert response.status_code == 200
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    assert expires_at > datetime.fromisoformat(created["expires_at"]) - timedelta(seconds=1)
    assert before + timedelta(seconds=900) <= expires_at <= timezone.now() + timedelta(seconds=900)
    assert response.json()["status"] == "held"
    assert history(held)[-1] == ("held", "held", Actor.CUSTOMER)


def test_extend_is_limited(settings, customer_client, held):
    settings.HOLD_MAX_EXTENSIONS = 2
    assert customer_client.post(booking_url(held, "extend")).status_code == 200
    assert customer_client.post(booking_url(held, "extend")).status_code == 200
    expires_at = Booking.objects.get(reference=held).expires_at
    response = customer_client.post(booking_url(held, "extend"))
    assert response.status_code == 409
    assert response.json()["code"] == "extension_limit"
    assert Booking.objects.get(reference=held).expires_at == expires_at


def test_staff_may_not_extend_anothers_booking(staff_client, held):
    response = staff_client.post(booking_url(held, "extend"))
    assert response.status_code == 403
    assert Booking.objects.get(reference=held).extension_count == 0


def test_another_customer_extending_gets_a_404(other_client, held):
    assert other_client.post(booking_url(held, "extend")).status_code == 404


def test_extend_of_a_confirmed_booking_is_invalid_state(customer_client, staff_client, held):
    confirm(staff_client, held)
    response = customer_client.post(booking_url(held, "extend"))
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"


# --- Expiry ----------------------------------------------------------------------------


def test_an_overdue_hold_reads_expired_everywhere(customer_client, held, cabin):
    make_overdue(held)
    assert customer_client.get(booking_url(held)).json()["status"] == "expired"
    listed = customer_client.get("/api/v1/bookings/").json()["results"]
    assert [b["status"] for b in listed] == ["expired"]
    # Reading it changes nothing: the sweep (or the next use) releases it.
    assert seats(cabin) == (8, 2, 0)


@pytest.mark.parametrize("action", ["confirm", "extend"])
def test_confirm_and_extend_of_an_overdue_hold_are_hold_expired_and_release_it(
    customer_client, staff_client, held, cabin, room_type, action
):
    make_overdue(held)
    client = staff_client if action == "confirm" else customer_client
    response = client.post(booking_url(held, action), {"payment_reference": "pay-1"})
    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"
    booking = Booking.objects.get(reference=held)
    assert booking.status == BookingStatus.EXPIRED
    assert booking.expired_at is not None
    assert booking.payment_reference is None
    assert seats(cabin) == (10, 0, 0)  # back on sale at once
    assert rooms(room_type) == [(5, 0, 0)]
    assert history(held)[-1][:2] == ("held", "expired")
    # And again: still hold_expired, nothing moves twice.
    again = client.post(booking_url(held, action), {"payment_reference": "pay-1"})
    assert again.json()["code"] == "hold_expired"
    assert seats(cabin) == (10, 0, 0)
    assert len(history(held)) == 2


def test_cancel_of_an_overdue_hold_answers_200_leaving_it_expired(customer_client, held, cabin):
    make_overdue(held)
    response = customer_client.post(booking_url(held, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert response.json()["cancelled_at"] is None
    assert Booking.objects.get(reference=held).status == BookingStatus.EXPIRED
    assert seats(cabin) == (10, 0, 0)
    again = customer_client.post(booking_url(held, "cancel"))
    assert again.status_code == 200
    assert again.json()["status"] == "expired"
    assert seats(cabin) == (10, 0, 0)


def test_a_confirmed_booking_never_expires(customer_client, staff_client, held, cabin):
    confirm(staff_client, held)
    Booking.objects.filter(reference=held).update(
        created_at=timezone.now() - timedelta(hours=2),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    assert customer_client.get(booking_url(held)).json()["status"] == "confirmed"
    assert confirm(staff_client, held).status_code == 200
    assert seats(cabin) == (8, 0, 2)


def test_every_transition_leaves_a_history_row_with_its_actor(customer_client, staff_client, cabin):
    first = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    confirm(staff_client, first)
    staff_client.post(booking_url(first, "cancel"))
    second = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    customer_client.post(booking_url(second, "extend"))
    make_overdue(second)
    customer_client.post(booking_url(second, "cancel"))

    assert history(first) == [
        ("", "held", Actor.CUSTOMER),
        ("held", "confirmed", Actor.STAFF),
        ("confirmed", "cancelled", Actor.STAFF),
    ]
    assert history(second) == [
        ("", "held", Actor.CUSTOMER),
        ("held", "held", Actor.CUSTOMER),
        ("held", "expired", Actor.SYSTEM),
    ]
    assert FlightInventory.objects.get(pk=cabin.pk).available_seats == 10


# --- Query count ---------------------------------------------------------------------
# 8: token, the booking with its items (one statement), savepoint, booking lock,
# status and history (one statement), the units to move, the seats' lock and
# move (one statement; none for rooms: the booking has none), release. The
# answer reuses the items read before the transition.


def test_query_count_of_a_cancel(customer_client, cabin, django_assert_max_num_queries):
    reference = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    with django_assert_max_num_queries(9):
        response = customer_client.post(booking_url(reference, "cancel"))
    assert response.status_code == 200
    assert response.json()["items"][0]["flight_id"] == cabin.flight_id
