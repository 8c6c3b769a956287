"""The admin shows flights, hotels and nights; counters cannot be edited there."""

import pytest

from tests.factories import FlightInventoryFactory, RoomNightFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory():
    return FlightInventoryFactory(), RoomNightFactory()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/flights/flight/",
        "/admin/flights/flightinventory/",
        "/admin/hotels/hotel/",
        "/admin/hotels/roomtype/",
        "/admin/hotels/roomnight/",
        "/admin/hotels/roomnight/?room_type__hotel__id__exact={hotel}",
    ],
)
def test_admin_lists_render(admin_client, inventory, path):
    cabin, night = inventory
    response = admin_client.get(path.format(hotel=night.room_type.hotel_id))
    assert response.status_code == 200


def test_flight_page_shows_its_cabins_with_counters_read_only(admin_client, inventory):
    """The total is edited through the service (tests/admin/test_inventory_admin.py);
    the counters never are."""
    cabin, _ = inventory
    response = admin_client.get(f"/admin/flights/flight/{cabin.flight_id}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "economy" in content.lower()
    assert 'name="cabins-0-available_seats"' not in content
    assert 'name="cabins-0-total_seats"' in content


def test_room_nights_cannot_be_changed_in_the_admin(admin_client, inventory):
    _, night = inventory
    response = admin_client.post(
        f"/admin/hotels/roomnight/{night.pk}/change/",
        {"total_rooms": 99, "available_rooms": 99},
    )
    assert response.status_code == 403
    night.refresh_from_db()
    assert night.total_rooms == 10
