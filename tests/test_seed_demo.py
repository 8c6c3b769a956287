"""seed_demo: a realistic demo set, safe to run twice."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from knox.models import AuthToken
from rest_framework.test import APIClient

from bookings.services.inventory import move
from flights.models import Flight, FlightInventory
from hotels.models import Hotel, RoomNight, RoomType

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", force=True, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    """The logins seed_demo printed: {username: password}."""
    return dict(re.findall(r"username=(\S+)\s+password=(\S+)", output))


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Flight,
            FlightInventory,
            Hotel,
            RoomType,
            RoomNight,
            get_user_model(),
            AuthToken,
        )
    }


def test_seed_creates_a_realistic_demo_set():
    seed()
    assert 30 <= Flight.objects.count() <= 120
    cabins_per_flight = Flight.objects.annotate(n=Count("cabins")).values_list("n", flat=True)
    assert set(cabins_per_flight) <= {2, 3, 4}
    for flight in Flight.objects.prefetch_related("cabins"):
        assert flight.origin != flight.destination
        assert flight.arrival_at > flight.departure_at
        assert len({cabin.currency for cabin in flight.cabins.all()}) == 1
    assert Hotel.objects.count() >= 5
    assert set(
        RoomType.objects.values_list("hotel").annotate(n=Count("pk")).values_list("n", flat=True)
    ) <= {2, 3}
    assert RoomNight.objects.values("date").distinct().count() == 90
    assert (
        RoomNight.objects.filter(held_rooms=0, booked_rooms=0).count() == RoomNight.objects.count()
    )


def test_seed_prints_working_logins():
    output = seed()
    passwords = printed_passwords(output)
    assert set(passwords) == {"staff", "customer", "agent", "inventory"}
    staff = authenticate(username="staff", password=passwords["staff"])
    customer = authenticate(username="customer", password=passwords["customer"])
    assert staff.is_staff and staff.is_superuser
    assert not customer.is_staff and not customer.is_superuser
    for user in (staff, customer):
        printed = re.search(rf"username={user.username}\s.*token=(\S+)", output).group(1)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {printed}")
        assert client.get("/api/v1/bookings/").status_code == 200
    for username in ("agent", "inventory"):
        assert authenticate(username=username, password=passwords[username]).is_staff


def test_seed_draws_new_passwords_at_every_run():
    """No demo password is fixed anywhere (code, README): each run draws and
    prints new ones, and only those open the accounts."""
    first, second = printed_passwords(seed()), printed_passwords(seed())
    for username, password in first.items():
        assert len(password) >= 16 and password != second[username]
        assert authenticate(username=username, password=password) is None
        assert authenticate(username=username, password=second[username]) is not None


def test_seed_twice_changes_nothing():
    seed()
    cabin = FlightInventory.objects.first()
    move(FlightInventory, {cabin.pk: 2}, source="available", target="held")
    before = counts()
    snapshot = list(FlightInventory.objects.order_by("pk").values())
    output = seed()
    assert counts() == before
    # A hold made in between is not reset by the second run.
    assert list(FlightInventory.objects.order_by("pk").values()) == snapshot
    assert "0 new flights" in output


def test_seed_restores_the_printed_passwords():
    seed()
    staff = get_user_model().objects.get(username="staff")
    staff.set_password("changed-by-someone")
    staff.is_superuser = False
    staff.save()
    passwords = printed_passwords(seed())
    staff = authenticate(username="staff", password=passwords["staff"])
    assert staff is not None and staff.is_superuser


def test_seed_refuses_to_run_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not Flight.objects.exists()
    assert not get_user_model().objects.exists()


def test_seed_gives_some_flights_realistic_seat_maps():
    from flights.models import FlightInventory, Seat

    seed()
    economy = FlightInventory.objects.filter(
        flight__flight_number="VJ511", cabin_class="economy"
    ).first()
    assert (economy.seat_columns, economy.total_seats) == ("ABC DEF", 180)
    assert economy.seats.count() == 180
    assert set(economy.seats.values_list("row", flat=True)) == set(range(10, 40))
    business = economy.flight.cabins.get(cabin_class="business")
    assert sorted(business.seats.values_list("number", flat=True)) == [
        "1A", "1B", "1C", "1D", "2A", "2B", "2C", "2D"
    ]  # fmt: skip
    seats = Seat.objects.count()
    seed()
    assert Seat.objects.count() == seats
    assert not FlightInventory.objects.filter(seat_columns="").filter(seats__isnull=False).exists()
