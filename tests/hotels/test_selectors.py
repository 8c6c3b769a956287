"""The hotel selectors' answers: frozen dataclasses that carry a stay's
figures beside the model instances, computed in one aggregate query."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bookings.services.inventory import move
from hotels.models import RoomNight, RoomType
from hotels.selectors import HotelListing, RoomTypeOffer, Stay, get_hotel, hotel_listings
from tests.factories import HotelFactory, RoomTypeFactory, put_nights_on_sale

pytestmark = pytest.mark.django_db

D = date(2030, 6, 1)
THREE_NIGHTS = Stay(check_in=D, check_out=D + timedelta(days=3))


def offers_by_code(listing: HotelListing) -> dict[str, RoomTypeOffer]:
    return {offer.room_type.code: offer for offer in listing.room_types}


def test_a_stay_gives_each_room_type_as_an_offer_with_the_stays_figures():
    hotel = HotelFactory()
    full = RoomTypeFactory(hotel=hotel, code="DBL")
    # A night either side of the stay, the one before nearly sold out: neither counts.
    nights = put_nights_on_sale(full, D - timedelta(days=1), 5, rooms=6, price="80.00")
    move(RoomNight, {nights[0].pk: 5, nights[2].pk: 4}, source="available", target="held")
    put_nights_on_sale(RoomTypeFactory(hotel=hotel, code="TWN"), D, 2, price="70.00")
    RoomTypeFactory(hotel=hotel, code="STE")
    stay = dataclasses.replace(THREE_NIGHTS, rooms=3)

    listing = get_hotel(hotel_id=hotel.pk, stay=stay)

    assert listing.hotel == hotel
    offers = offers_by_code(listing)
    assert offers["DBL"] == RoomTypeOffer(
        room_type=full, available_rooms=2, total_price=Decimal("720.00"), currency="EUR"
    )
    assert (offers["TWN"].available_rooms, offers["TWN"].total_price) == (0, None)
    assert offers["TWN"].currency == "EUR"
    assert (offers["STE"].available_rooms, offers["STE"].total_price) == (0, None)
    assert offers["STE"].currency is None
    assert [offer.room_type.pk for offer in listing.room_types] == sorted(
        offer.room_type.pk for offer in listing.room_types
    )


def test_answers_are_frozen():
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 3)
    listing = get_hotel(hotel_id=room_type.hotel_id, stay=THREE_NIGHTS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        listing.room_types[0].available_rooms = 99
    with pytest.raises(dataclasses.FrozenInstanceError):
        listing.room_types = []


def test_without_a_stay_the_room_types_are_the_models_by_id():
    hotel = HotelFactory()
    room_types = [RoomTypeFactory(hotel=hotel, code=code) for code in ("DBL", "TWN")]
    listing = get_hotel(hotel_id=hotel.pk)
    assert listing == HotelListing(hotel=hotel, room_types=room_types)
    assert all(type(room_type) is RoomType for room_type in listing.room_types)


def test_only_fitting_keeps_the_room_types_with_the_rooms_free_on_every_night():
    hotel = HotelFactory()
    roomy = RoomTypeFactory(hotel=hotel, code="DBL")
    put_nights_on_sale(roomy, D, 3, rooms=5)
    put_nights_on_sale(RoomTypeFactory(hotel=hotel, code="TWN"), D, 3, rooms=1)
    put_nights_on_sale(RoomTypeFactory(hotel=hotel, code="STE"), D, 2, rooms=5)
    empty = HotelFactory()
    stay = dataclasses.replace(THREE_NIGHTS, rooms=2)

    listings = hotel_listings([hotel, empty], stay=stay, only_fitting=True)

    assert [listing.hotel for listing in listings] == [hotel, empty]
    assert [offer.room_type for offer in listings[0].room_types] == [roomy]
    assert listings[1].room_types == []


def test_staff_nights_are_the_stays_nights_on_sale_by_date():
    hotel = HotelFactory()
    wide = RoomTypeFactory(hotel=hotel, code="DBL")
    put_nights_on_sale(wide, D - timedelta(days=1), 5)  # one night either side of the stay
    gap = RoomTypeFactory(hotel=hotel, code="TWN")
    put_nights_on_sale(gap, D + timedelta(days=2), 1)
    put_nights_on_sale(gap, D, 1)
    RoomTypeFactory(hotel=hotel, code="STE")

    listing = get_hotel(hotel_id=hotel.pk, stay=THREE_NIGHTS, with_nights=True)

    dates = {
        code: [n.date for n in offer.nights] for code, offer in offers_by_code(listing).items()
    }
    assert dates == {
        "DBL": [D, D + timedelta(days=1), D + timedelta(days=2)],
        "TWN": [D, D + timedelta(days=2)],
        "STE": [],
    }
    assert all(
        night.room_type_id == offer.room_type.pk
        for offer in listing.room_types
        for night in offer.nights
    )
    customer_view = get_hotel(hotel_id=hotel.pk, stay=THREE_NIGHTS)
    assert all(offer.nights is None for offer in customer_view.room_types)


@pytest.mark.parametrize(
    ("stay", "with_nights", "queries"),
    [
        (None, False, 1),
        (THREE_NIGHTS, False, 1),
        (THREE_NIGHTS, True, 2),
    ],
)
def test_a_page_of_hotels_costs_the_same_queries_however_many_nights(
    django_assert_num_queries, stay, with_nights, queries
):
    hotels = [HotelFactory() for _ in range(3)]
    for hotel in hotels:
        for code in ("DBL", "TWN"):
            put_nights_on_sale(RoomTypeFactory(hotel=hotel, code=code), D - timedelta(days=5), 20)
    with django_assert_num_queries(queries):
        listings = hotel_listings(hotels, stay=stay, only_fitting=False, with_nights=with_nights)
    assert [len(listing.room_types) for listing in listings] == [2, 2, 2]
