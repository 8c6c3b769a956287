"""A realistic demo set: flights on real routes over the next four weeks,
hotels in the same cities with about three months of nights on sale, a staff
user and a customer. Idempotent: rows are keyed on their natural keys and only
created when missing, so a second run changes nothing (and never touches
counters that holds have moved)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts.tokens import issue_token, revoke_tokens
from bookings.demo_staff import DEMO_STAFF, ensure_demo_staff
from flights.models import CabinClass, Flight, FlightInventory, Seat, seat_layout
from hotels.models import Hotel, RoomNight, RoomType

FLIGHT_DAYS = 28
HOTEL_NIGHTS = 90

# username, email, is_staff (and superuser). Their passwords are drawn afresh
# at every run and printed, so no demo login is ever published in the docs or
# the code: a demo database left reachable does not open with a known password.
DEMO_USERS = (
    ("staff", "staff@example.com", True),
    ("customer", "customer@example.com", False),
)


@dataclass(frozen=True)
class Route:
    flight_number: str
    origin: str
    destination: str
    departs: time  # UTC
    minutes: int
    weekdays: tuple[int, ...]  # Monday is 0
    currency: str
    cabins: tuple[tuple[str, int, str], ...]  # (class, seats, price)


ECO, PREM, BIZ, FIRST = CabinClass.values
# Times are UTC; a few weekly departures per route keep the set at a few dozen.
# Cabins with a seat map (first row, layout): an A320's 3-3 economy of 30
# rows and its 2-2 business cabin; every other cabin sells by count.
SEAT_MAPS = {
    ("VJ511", ECO): (10, "ABC DEF"),
    ("VJ511", BIZ): (1, "AB CD"),
}
# fmt: off
ROUTES = (
    Route("VN213", "HAN", "SGN", time(1, 0), 130, (0, 3, 5), "USD",
          ((ECO, 250, "79.00"), (PREM, 35, "139.00"), (BIZ, 28, "249.00"))),
    Route("VN220", "SGN", "HAN", time(10, 30), 130, (1, 4, 6), "USD",
          ((ECO, 250, "79.00"), (PREM, 35, "139.00"), (BIZ, 28, "249.00"))),
    Route("VJ511", "HAN", "DAD", time(0, 15), 80, (2,), "USD",
          ((ECO, 180, "59.00"), (BIZ, 8, "129.00"))),
    Route("VN611", "DAD", "SGN", time(4, 40), 85, (5,), "USD",
          ((ECO, 160, "65.00"), (BIZ, 16, "189.00"))),
    Route("TG565", "HAN", "BKK", time(3, 20), 115, (0,), "USD",
          ((ECO, 220, "149.00"), (BIZ, 30, "459.00"))),
    Route("SQ183", "SGN", "SIN", time(4, 5), 125, (3,), "USD",
          ((ECO, 230, "169.00"), (PREM, 24, "289.00"), (BIZ, 40, "689.00"))),
    Route("SQ336", "SIN", "CDG", time(15, 30), 805, (6,), "EUR",
          ((ECO, 200, "789.00"), (PREM, 28, "1290.00"), (BIZ, 42, "3890.00"),
           (FIRST, 4, "7990.00"))),
    Route("AF259", "CDG", "SGN", time(20, 35), 740, (1,), "EUR",
          ((ECO, 210, "699.00"), (PREM, 24, "1190.00"), (BIZ, 36, "3450.00"))),
    Route("VN19", "HAN", "CDG", time(17, 5), 780, (4,), "EUR",
          ((ECO, 230, "649.00"), (PREM, 35, "1090.00"), (BIZ, 28, "2990.00"))),
    Route("BA12", "SIN", "LHR", time(15, 20), 830, (2,), "EUR",
          ((ECO, 180, "749.00"), (PREM, 40, "1390.00"), (BIZ, 48, "4190.00"),
           (FIRST, 8, "8990.00"))),
    Route("LH773", "FRA", "BKK", time(20, 40), 640, (5,), "EUR",
          ((ECO, 220, "629.00"), (PREM, 30, "1040.00"), (BIZ, 36, "3190.00"))),
    Route("JL752", "NRT", "SGN", time(1, 25), 385, (0,), "USD",
          ((ECO, 160, "389.00"), (PREM, 40, "699.00"), (BIZ, 44, "1890.00"))),
    Route("VN311", "SGN", "NRT", time(16, 0), 350, (3,), "USD",
          ((ECO, 240, "359.00"), (BIZ, 28, "1690.00"))),
    Route("LH1024", "FRA", "CDG", time(6, 10), 75, (1,), "EUR",
          ((ECO, 150, "119.00"), (BIZ, 20, "349.00"))),
    Route("AF1681", "CDG", "LHR", time(7, 30), 80, (4,), "EUR",
          ((ECO, 170, "99.00"), (BIZ, 24, "329.00"))),
)

# name, city, address, currency, room types (code, name, max guests, nightly price, rooms)
HOTELS = (
    ("Sofitel Legend Metropole", "Hanoi", "15 Ngo Quyen, Hoan Kiem", "USD",
     (("DLX", "Deluxe King", 2, "280.00", 12), ("GRM", "Grand Premium", 3, "420.00", 6),
      ("STE", "Legendary Suite", 4, "950.00", 2))),
    ("Hotel Continental Saigon", "Ho Chi Minh City", "132-134 Dong Khoi, District 1", "USD",
     (("STD", "Standard Double", 2, "95.00", 20), ("DLX", "Deluxe Twin", 2, "130.00", 10))),
    ("Hyatt Regency Danang", "Da Nang", "5 Truong Sa, Ngu Hanh Son", "USD",
     (("KNG", "King Ocean View", 2, "160.00", 25), ("TWN", "Twin Garden View", 3, "140.00", 15),
      ("VIL", "Three-bedroom Villa", 6, "690.00", 3))),
    ("Mandarin Oriental Bangkok", "Bangkok", "48 Oriental Avenue", "USD",
     (("SUP", "Superior Room", 2, "390.00", 14), ("STE", "River Suite", 3, "890.00", 4))),
    ("Raffles Singapore", "Singapore", "1 Beach Road", "USD",
     (("CRT", "Courtyard Suite", 2, "850.00", 10), ("PAL", "Palm Court Suite", 3, "1100.00", 6))),
    ("Hotel Le Meurice", "Paris", "228 Rue de Rivoli", "EUR",
     (("SUP", "Superior Room", 2, "950.00", 12), ("DLX", "Deluxe Room", 2, "1250.00", 8),
      ("STE", "Junior Suite", 3, "2100.00", 3))),
    ("The Savoy", "London", "Strand", "EUR",
     (("KNG", "Superior King", 2, "720.00", 18), ("RIV", "River View Suite", 3, "1650.00", 4))),
    ("Park Hyatt Tokyo", "Tokyo", "3-7-1-2 Nishi Shinjuku", "USD",
     (("PKR", "Park Room", 2, "780.00", 16), ("PDX", "Park Deluxe", 3, "920.00", 8))),
)
# fmt: on


def _departures(route: Route, today: date) -> list[datetime]:
    days = (today + timedelta(days=offset) for offset in range(1, FLIGHT_DAYS + 1))
    return [
        datetime.combine(day, route.departs, UTC) for day in days if day.weekday() in route.weekdays
    ]


class Command(BaseCommand):
    help = (
        "Load demo flights, hotels, a staff user, a customer, a booking agent and an "
        "inventory manager; safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (the demo users' passwords are printed).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: seed_demo creates users and prints their passwords. "
                "Pass --force if this really is a demo."
            )
        today = datetime.now(UTC).date()
        usernames = [username for username, *_ in DEMO_USERS] + [u for u, _ in DEMO_STAFF]
        passwords = {username: secrets.token_urlsafe(12) for username in usernames}
        with transaction.atomic():
            flights, cabins = self._seed_flights(today)
            hotels, nights = self._seed_hotels(today)
            users = self._seed_users(passwords)
            staff = ensure_demo_staff(passwords)
        self.stdout.write(
            f"Demo data: {flights} new flights ({cabins} new cabins), "
            f"{hotels} new hotels ({nights} new room nights)."
        )
        self.stdout.write("Demo logins (demo only, never use these passwords elsewhere):")
        for role, username, password, token in users:
            self.stdout.write(
                f"  {role:<8} username={username}  password={password}  token={token}"
            )
        for username, password in staff:
            self.stdout.write(
                f"  admin    username={username}  password={password}  (staff group, admin only)"
            )

    def _seed_flights(self, today: date) -> tuple[int, int]:
        wanted = {
            (route.flight_number, departure.date()): (route, departure)
            for route in ROUTES
            for departure in _departures(route, today)
        }
        existing = wanted.keys() & set(
            Flight.objects.filter(
                flight_number__in={number for number, _ in wanted},
                departure_date__in={day for _, day in wanted},
            ).values_list("flight_number", "departure_date")
        )
        # bulk_create skips Flight.save(), so departure_date is set here.
        Flight.objects.bulk_create(
            [
                Flight(
                    flight_number=route.flight_number,
                    origin=route.origin,
                    destination=route.destination,
                    departure_at=departure,
                    arrival_at=departure + timedelta(minutes=route.minutes),
                    departure_date=departure.date(),
                )
                for key, (route, departure) in wanted.items()
                if key not in existing
            ],
            ignore_conflicts=True,
        )
        flights = Flight.objects.filter(
            flight_number__in={number for number, _ in wanted},
            departure_date__in={day for _, day in wanted},
        ).values_list("pk", "flight_number", "departure_date")
        cabins_before = FlightInventory.objects.count()
        FlightInventory.objects.bulk_create(
            [
                FlightInventory(
                    flight_id=pk,
                    cabin_class=cabin_class,
                    total_seats=seats,
                    available_seats=seats,
                    price=Decimal(price),
                    currency=wanted[(number, day)][0].currency,
                    first_row=SEAT_MAPS.get((number, cabin_class), (None, ""))[0],
                    seat_columns=SEAT_MAPS.get((number, cabin_class), (None, ""))[1],
                )
                for pk, number, day in flights
                if (number, day) in wanted
                for cabin_class, seats, price in wanted[(number, day)][0].cabins
            ],
            ignore_conflicts=True,
        )
        self._seed_seats()
        return len(wanted) - len(existing), FlightInventory.objects.count() - cabins_before

    def _seed_seats(self) -> None:
        """The seats of every cabin with a map that has none yet."""
        seatless = FlightInventory.objects.exclude(seat_columns="").exclude(
            Exists(Seat.objects.filter(inventory=OuterRef("pk")))
        )
        seats = []
        for cabin in seatless:
            rows = cabin.total_seats // len(cabin.seat_columns.replace(" ", ""))
            for seat in seat_layout(cabin.first_row, rows, cabin.seat_columns):
                seat.inventory = cabin
                seats.append(seat)
        Seat.objects.bulk_create(seats, batch_size=5000)

    def _seed_hotels(self, today: date) -> tuple[int, int]:
        new_hotels = 0
        nights = []
        for name, city, address, currency, room_types in HOTELS:
            hotel, created = Hotel.objects.get_or_create(
                name=name, city=city, defaults={"address": address}
            )
            new_hotels += created
            for code, room_name, guests, price, rooms in room_types:
                room_type, _ = RoomType.objects.get_or_create(
                    hotel=hotel, code=code, defaults={"name": room_name, "max_guests": guests}
                )
                for offset in range(HOTEL_NIGHTS):
                    day = today + timedelta(days=offset)
                    # Friday and Saturday nights cost a fifth more.
                    nightly = Decimal(price) * (Decimal("1.2") if day.weekday() in (4, 5) else 1)
                    nights.append(
                        RoomNight(
                            room_type=room_type,
                            date=day,
                            total_rooms=rooms,
                            available_rooms=rooms,
                            price=nightly.quantize(Decimal("0.01")),
                            currency=currency,
                        )
                    )
        before = RoomNight.objects.count()
        RoomNight.objects.bulk_create(nights, ignore_conflicts=True, batch_size=1000)
        return new_hotels, RoomNight.objects.count() - before

    def _seed_users(self, passwords: dict[str, str]) -> list[tuple[str, str, str, str]]:
        User = get_user_model()
        printed = []
        for username, email, is_staff in DEMO_USERS:
            password = passwords[username]
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": email, "is_staff": is_staff, "is_superuser": is_staff},
            )
            # Whatever happened since, the printed logins work as printed.
            if created or not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            if (user.is_staff, user.is_superuser) != (is_staff, is_staff):
                user.is_staff = user.is_superuser = is_staff
                user.save(update_fields=["is_staff", "is_superuser"])
            # Tokens cannot be read back: each run revokes the last run's and
            # prints a new one.
            revoke_tokens(user)
            printed.append(
                ("staff" if is_staff else "customer", username, password, issue_token(user))
            )
        return printed
