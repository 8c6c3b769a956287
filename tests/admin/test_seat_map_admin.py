"""The cabin's seat map in the back office (bookings/seat_map_admin.py): the
grid by status with who holds each seat, and blocking through the API's service."""

import pytest

from flights.models import Seat
from tests.factories import FlightInventoryFactory, seat_mapped_cabin
from tests.holds import hold_through_services

pytestmark = pytest.mark.django_db


def url(cabin) -> str:
    return f"/admin/flights/flightinventory/{cabin.pk}/seat-map/"


def test_the_grid_shows_status_and_who_holds_a_seat(client, inventory_manager, customer):
    cabin = seat_mapped_cabin(rows=2, columns="AB CD")
    booking = hold_through_services(customer, cabin, seats=1)
    client.force_login(inventory_manager)
    page = client.get(url(cabin)).content.decode()
    assert 'id="seat-10A"' in page and 'data-status="held"' in page
    assert f"10A window: held by {booking.reference}" in page
    assert page.count('class="aisle"') == 2
    assert 'id="seat-11D"' in page


def test_a_click_blocks_a_seat_and_a_held_one_is_refused(client, inventory_manager, customer):
    cabin = seat_mapped_cabin(rows=2, columns="AB CD")
    hold_through_services(customer, cabin, seats=1)
    client.force_login(inventory_manager)
    response = client.post(url(cabin), {"block": "11C"}, follow=True)
    assert "Seat 11C blocked" in response.content.decode()
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.blocked_seats) == (6, 1)
    refused = client.post(url(cabin), {"block": "10A"}, follow=True).content.decode()
    assert "Seat 10A is held or booked" in refused
    assert not Seat.objects.get(inventory=cabin, number="10A").blocked
    client.post(url(cabin), {"unblock": "11C"})
    cabin.refresh_from_db()
    assert cabin.blocked_seats == 0


def test_an_agent_may_neither_see_nor_block(client, agent):
    """Booking agents do not view cabins: no seat map, no block."""
    cabin = seat_mapped_cabin(rows=1)
    client.force_login(agent)
    assert client.get(url(cabin)).status_code == 403
    assert client.post(url(cabin), {"block": "10A"}).status_code == 403
    assert not Seat.objects.filter(blocked=True).exists()


def test_a_cabin_without_a_map_has_no_seat_map_page(client, inventory_manager):
    client.force_login(inventory_manager)
    assert client.get(url(FlightInventoryFactory())).status_code == 404


def test_the_cabin_list_links_to_the_seat_map(client, inventory_manager):
    cabin = seat_mapped_cabin(rows=1)
    client.force_login(inventory_manager)
    page = client.get("/admin/flights/flightinventory/").content.decode()
    assert url(cabin) in page
