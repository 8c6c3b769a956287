"""Data at scale for `manage.py seed_scale` and `make bench WORKLOAD=scale`:
a year of flights and hotel nights, customers, and a long history of past
bookings, with every counter equal to what the bookings hold.

Why COPY and not the ORM: at the full size this is about ten million rows.
`bulk_create` builds a model instance per row and an INSERT per batch, which
takes tens of minutes; PostgreSQL's `COPY ... FROM STDIN` (psycopg's
`cursor.copy`) streams text rows, and is what the ORM cannot say. All the raw
SQL of the loader is in this module.

The rows are a pure function of the sizes (booking `n` is on the flight `n mod
flights`, and so on), so the loader knows how many seats and rooms each row's
bookings take before it writes the inventory, and writes the counters right the
first time: `reconcile_inventory` finds nothing after a load. Primary keys are
drawn from the tables' own sequences first, so the rows can point at each
other inside one COPY stream each.

Everything it makes is marked (flight numbers `SC…`, hotels `Scale …`,
usernames `scale-…`), which is how `--reset` finds it again.
"""

from __future__ import annotations

import io
import string
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from bookings.models import REFERENCE_ALPHABET, REFERENCE_LENGTH

FLIGHT_PREFIX = "SC"
HOTEL_PREFIX = "Scale "
USER_PREFIX = "scale-"
HOTELS_PER_CITY = 20  # a city's search answer keeps its size at every scale
CABINS = (("economy", 150, 89), ("premium_economy", 30, 210), ("business", 20, 420))
ROOMS_PER_NIGHT = 10
HOLD_MINUTES = 15
CHUNK_ROWS = 50_000  # rows per write into a COPY stream
NULL = "\\N"  # in COPY's text format

# Booking n's status is STATUS_CYCLE[n % 20]: mostly confirmed, as in a real
# history; none held (past bookings), overdue holds are their own option.
STATUS_CYCLE = ["confirmed"] * 12 + ["cancelled"] * 3 + ["expired"] * 3 + ["released"] * 2


@dataclass(frozen=True)
class Sizes:
    """How much to load. `full()` is the issue's size; `scaled` multiplies
    every count (the days stay a year)."""

    routes: int = 1_000
    days: int = 365
    hotels: int = 2_000
    room_types: int = 4
    customers: int = 100_000
    bookings: int = 1_000_000
    overdue_holds: int = 0

    def scaled(self, fraction: float) -> Sizes:
        def part(value: int) -> int:
            return max(1, round(value * fraction)) if value else 0

        return Sizes(
            routes=part(self.routes),
            days=self.days,
            hotels=part(self.hotels),
            room_types=self.room_types,
            customers=part(self.customers),
            bookings=part(self.bookings),
            overdue_holds=part(self.overdue_holds),
        )

    @property
    def flights(self) -> int:
        return self.routes * self.days

    @property
    def all_room_types(self) -> int:
        return self.hotels * self.room_types


class ScaleDataError(Exception):
    """The sizes do not fit, or scale data is already there."""


def airports(routes: int) -> list[tuple[str, str]]:
    """`routes` distinct (origin, destination) pairs over generated IATA-like
    codes, the busiest first."""
    count = 2
    while count * (count - 1) < routes:
        count += 1
    letters = string.ascii_uppercase
    codes = [f"Q{letters[i // 26]}{letters[i % 26]}" for i in range(count)]
    pairs = [(a, b) for a in codes for b in codes if a != b]
    return pairs[:routes]


def cities(hotels: int) -> list[str]:
    return [f"City {i:03d}" for i in range(max(1, -(-hotels // HOTELS_PER_CITY)))]


def existing() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM auth_user WHERE username LIKE %s)"
            " OR EXISTS (SELECT 1 FROM hotels_hotel WHERE name LIKE %s)",
            [USER_PREFIX + "%", HOTEL_PREFIX + "%"],
        )
        return cursor.fetchone()[0]


def load(sizes: Sizes, *, now: datetime | None = None, log=lambda message: None) -> dict:
    """Load `sizes` in one transaction; returns the row counts and the data
    the benchmark reads (routes, cities, the first day)."""
    if existing():
        raise ScaleDataError("scale data is already loaded; --reset replaces it")
    now = now or datetime.now(UTC)
    loader = _Loader(sizes, now, log)
    loader.check_capacity()
    with transaction.atomic():
        counts = loader.write()
    return {
        "sizes": asdict(sizes),
        "counts": counts,
        "settled": settle(),
        "first_day": loader.first_day.isoformat(),
        "routes": loader.pairs[:50],
        "cities": cities(sizes.hotels)[:50],
        "customers": [f"{USER_PREFIX}{i}" for i in range(min(sizes.customers, 50))],
    }


def reset() -> dict:
    """Delete what `load` made, children first, in set-based statements."""
    statements = [
        "CREATE TEMP TABLE scale_bookings ON COMMIT DROP AS SELECT b.id FROM bookings_booking b"
        " JOIN auth_user u ON u.id = b.customer_id WHERE u.username LIKE %(user)s",
        "DELETE FROM bookings_bookingstatuschange WHERE booking_id IN"
        " (SELECT id FROM scale_bookings)",
        "DELETE FROM bookings_flightitem WHERE booking_id IN (SELECT id FROM scale_bookings)",
        "DELETE FROM bookings_hotelitem WHERE booking_id IN (SELECT id FROM scale_bookings)",
        "DELETE FROM bookings_booking WHERE id IN (SELECT id FROM scale_bookings)",
        "DELETE FROM knox_authtoken WHERE user_id IN"
        " (SELECT id FROM auth_user WHERE username LIKE %(user)s)",
        "DELETE FROM auth_user WHERE username LIKE %(user)s",
        "DELETE FROM flights_flightinventory WHERE flight_id IN"
        " (SELECT id FROM flights_flight WHERE flight_number LIKE %(flight)s)",
        "DELETE FROM flights_flight WHERE flight_number LIKE %(flight)s",
        "DELETE FROM hotels_roomnight WHERE room_type_id IN (SELECT rt.id FROM hotels_roomtype rt"
        " JOIN hotels_hotel h ON h.id = rt.hotel_id WHERE h.name LIKE %(hotel)s)",
        "DELETE FROM hotels_roomtype WHERE hotel_id IN"
        " (SELECT id FROM hotels_hotel WHERE name LIKE %(hotel)s)",
        "DELETE FROM hotels_hotel WHERE name LIKE %(hotel)s",
    ]
    params = {
        "user": USER_PREFIX + "%",
        "flight": FLIGHT_PREFIX + "%",
        "hotel": HOTEL_PREFIX + "%",
    }
    deleted = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)
            table = statement.split()[2]
            if statement.startswith("DELETE"):
                deleted[table] = cursor.rowcount
    return deleted


# Every table the load writes, parents first: what `settle` vacuums, and what
# the scale bench waits for autovacuum to leave alone.
TABLES = (
    "auth_user",
    "flights_flight",
    "flights_flightinventory",
    "hotels_hotel",
    "hotels_roomtype",
    "hotels_roomnight",
    "bookings_booking",
    "bookings_flightitem",
    "bookings_hotelitem",
    "bookings_bookingstatuschange",
)


def settle() -> dict:
    """`VACUUM (ANALYZE)` every table the load wrote, so that the data is in
    the state a running service's is, not a fresh bulk load's.

    A fresh load's rows carry no hint bits and its pages are not in the
    visibility map: the first read of each page looks its rows' transaction
    up and dirties the page (a read that writes), no index-only scan can skip
    the heap, and autovacuum comes along later to do the same over millions
    of rows, in the middle of whatever runs then. Here, not in the bench:
    whoever loads the data, the bench or a developer timing
    `loadtest/scale_probe.py` by hand, then measures it, and a measurement
    of a half-settled table moves by a factor of two (README, "Scale"). What
    only the bench needs stays in the bench (`loadtest/scale.py`: the wait
    for autovacuum and a CHECKPOINT, which needs a superuser). The ANALYZE
    gives the planner (and the admin's estimated counts) the tables' new
    size at once.

    VACUUM cannot run inside a transaction: inside a caller's (a test's),
    this is ANALYZE alone, and says so."""
    statement = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"{statement} {table}")
    return {
        "statement": statement,
        "seconds": round(time.monotonic() - started, 1),
        "tables": list(TABLES),
    }


def _copy(table: str, columns: str, rows: Iterable[str]) -> int:
    """Stream text-format rows (tab-separated, `\\N` for NULL, each ending in
    a newline) into `table` in chunks."""
    written = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for written, line in enumerate(rows, 1):
            buffer.write(line)
            if written % CHUNK_ROWS == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return written


def _ids(table: str, count: int) -> list[int]:
    """`count` fresh primary keys from `table`'s own sequence."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _ts(moment: datetime) -> str:
    return moment.isoformat()


class _Loader:
    """Booking `n` (0-based; the overdue holds follow the past bookings) has a
    flight item of 1 or 2 seats in the economy cabin of flight `n mod
    flights`, and every other one a stay of 1 to 3 nights in one room."""

    def __init__(self, sizes: Sizes, now: datetime, log):
        self.sizes = sizes
        self.now = now
        self.log = log
        self.first_day = now.date() + timedelta(days=1)
        self.pairs = airports(sizes.routes)
        self.total_bookings = sizes.bookings + sizes.overdue_holds
        flights, types = sizes.flights, sizes.all_room_types
        self.held_seats = [0] * flights
        self.booked_seats = [0] * flights
        self.held_rooms = [0] * (types * sizes.days)
        self.booked_rooms = [0] * (types * sizes.days)
        if flights == 0 or (types == 0 and self.total_bookings > 1):
            raise ScaleDataError("bookings need at least one route and one room type")
        for n in range(self.total_bookings):
            counters = self._counters(self._status(n))
            if counters is None:
                continue
            seats, rooms = counters
            seats[n % flights] += self._seats(n)
            if stay := self._stay(n):
                room_type, day, nights = stay
                for night in range(day, day + nights):
                    rooms[room_type * sizes.days + night] += 1

    # --- what booking n is ------------------------------------------------------------

    def _status(self, n: int) -> str:
        return "held" if n >= self.sizes.bookings else STATUS_CYCLE[n % len(STATUS_CYCLE)]

    def _counters(self, status: str):
        if status == "held":
            return self.held_seats, self.held_rooms
        if status == "confirmed":
            return self.booked_seats, self.booked_rooms
        return None

    @staticmethod
    def _seats(n: int) -> int:
        return 1 + n % 2

    def _stay(self, n: int) -> tuple[int, int, int] | None:
        """(room type index, first night index, nights) or None."""
        types, days = self.sizes.all_room_types, self.sizes.days
        if n % 2 or not types:
            return None
        k = n // 2
        nights = min(1 + k % 3, days)
        return k % types, (k * 37) % (days - nights + 1), nights

    def check_capacity(self) -> None:
        economy_seats = CABINS[0][1]
        if max(self.held_seats[i] + self.booked_seats[i] for i in range(self.sizes.flights)) > (
            economy_seats
        ):
            raise ScaleDataError("too many bookings for the flights: raise --routes")
        if self.held_rooms and max(
            h + b for h, b in zip(self.held_rooms, self.booked_rooms, strict=True)
        ) > (ROOMS_PER_NIGHT):
            raise ScaleDataError("too many bookings for the hotels: raise --hotels")

    # --- writing ------------------------------------------------------------------------

    def write(self) -> dict:
        counts = {}
        steps = [
            ("flights", self._write_flights),
            ("cabins", self._write_cabins),
            ("hotels", self._write_hotels),
            ("room_nights", self._write_room_nights),
            ("customers", self._write_customers),
            ("bookings", self._write_bookings),
        ]
        for name, step in steps:
            counts[name] = step()
            self.log(f"{name}: {counts[name]:,}")
        return counts

    def _write_flights(self) -> int:
        sizes = self.sizes
        self.flight_ids = _ids("flights_flight", sizes.flights)
        midnight = datetime.combine(self.first_day, datetime.min.time(), tzinfo=UTC)

        def rows() -> Iterator[str]:
            for route, (origin, destination) in enumerate(self.pairs):
                # Departures spread over the day, the same slot every day.
                slot = timedelta(hours=5, minutes=(route * 7) % 960)
                for day in range(sizes.days):
                    departure = midnight + timedelta(days=day) + slot
                    yield (
                        f"{self.flight_ids[route * sizes.days + day]}\t"
                        f"{FLIGHT_PREFIX}{route + 1}\t{origin}\t{destination}\t"
                        f"{_ts(departure)}\t{_ts(departure + timedelta(hours=2))}\n"
                    )

        return _copy(
            "flights_flight",
            "id, flight_number, origin, destination, departure_at, arrival_at",
            rows(),
        )

    def _write_cabins(self) -> int:
        self.economy_ids = _ids("flights_flightinventory", self.sizes.flights * len(CABINS))

        def rows() -> Iterator[str]:
            for index, flight_id in enumerate(self.flight_ids):
                for k, (cabin_class, seats, price) in enumerate(CABINS):
                    held = self.held_seats[index] if k == 0 else 0
                    booked = self.booked_seats[index] if k == 0 else 0
                    yield (
                        f"{self.economy_ids[index * len(CABINS) + k]}\t{flight_id}\t"
                        f"{cabin_class}\t{seats}\t{seats - held - booked}\t{held}\t{booked}\t0\t"
                        f"{price + index % 50}.00\tEUR\n"
                    )

        return _copy(
            "flights_flightinventory",
            "id, flight_id, cabin_class, total_seats, available_seats, held_seats,"
            " booked_seats, blocked_seats, price, currency",
            rows(),
        )

    def _economy_cabin(self, n: int) -> int:
        return self.economy_ids[(n % self.sizes.flights) * len(CABINS)]

    def _write_hotels(self) -> int:
        sizes = self.sizes
        self.hotel_ids = _ids("hotels_hotel", sizes.hotels)
        self.room_type_ids = _ids("hotels_roomtype", sizes.all_room_types)
        names = cities(sizes.hotels)
        _copy(
            "hotels_hotel",
            "id, name, city, address",
            (
                f"{hotel_id}\t{HOTEL_PREFIX}{i}\t{names[i // HOTELS_PER_CITY]}\t{i} Scale street\n"
                for i, hotel_id in enumerate(self.hotel_ids)
            ),
        )
        _copy(
            "hotels_roomtype",
            "id, hotel_id, code, name, max_guests",
            (
                f"{room_type_id}\t{self.hotel_ids[t // sizes.room_types]}\t"
                f"R{t % sizes.room_types}\tRoom {t % sizes.room_types}\t{2 + t % 2}\n"
                for t, room_type_id in enumerate(self.room_type_ids)
            ),
        )
        return sizes.hotels

    def _write_room_nights(self) -> int:
        sizes = self.sizes
        days = [(self.first_day + timedelta(days=d)).isoformat() for d in range(sizes.days)]

        def rows() -> Iterator[str]:
            for t, room_type_id in enumerate(self.room_type_ids):
                price = f"{60 + t % 90}.00"
                for d, day in enumerate(days):
                    held = self.held_rooms[t * sizes.days + d]
                    booked = self.booked_rooms[t * sizes.days + d]
                    yield (
                        f"{room_type_id}\t{day}\t{ROOMS_PER_NIGHT}\t"
                        f"{ROOMS_PER_NIGHT - held - booked}\t{held}\t{booked}\t{price}\tEUR\n"
                    )

        return _copy(
            "hotels_roomnight",
            "room_type_id, date, total_rooms, available_rooms, held_rooms, booked_rooms,"
            " price, currency",
            rows(),
        )

    def _write_customers(self) -> int:
        self.customer_ids = _ids("auth_user", self.sizes.customers)
        joined = _ts(self.now - timedelta(days=400))
        # "!" is Django's unusable password: these customers use API tokens.
        return _copy(
            "auth_user",
            "id, password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined",
            (
                f"{user_id}\t!\tf\t{USER_PREFIX}{i}\t\t\t{USER_PREFIX}{i}@example.com\tf\tt\t{joined}\n"
                for i, user_id in enumerate(self.customer_ids)
            ),
        )

    def _write_bookings(self) -> int:
        booking_ids = _ids("bookings_booking", self.total_bookings)
        bookings, flight_items, hotel_items, history = [], [], [], []
        for n, booking_id in enumerate(booking_ids):
            booking, flight_item, hotel_item, changes = self._booking(n, booking_id)
            bookings.append(booking)
            flight_items.append(flight_item)
            if hotel_item:
                hotel_items.append(hotel_item)
            history.extend(changes)
        written = _copy(
            "bookings_booking",
            "id, reference, customer_id, status, created_at, expires_at, confirmed_at,"
            " cancelled_at, expired_at, payment_reference, total_price, currency,"
            " extension_count, refunded_amount, cancel_reason, request_fingerprint",
            bookings,
        )
        _copy(
            "bookings_flightitem",
            "booking_id, position, inventory_id, seats, unit_price, line_total",
            flight_items,
        )
        _copy(
            "bookings_hotelitem",
            "booking_id, position, room_type_id, check_in, check_out, rooms, unit_price,"
            " line_total",
            hotel_items,
        )
        _copy(
            "bookings_bookingstatuschange",
            "booking_id, from_status, to_status, actor_kind, actor_id, at, note",
            history,
        )
        return written

    def _booking(self, n: int, booking_id: int):
        status = self._status(n)
        customer = self.customer_ids[n % len(self.customer_ids)]
        if status == "held":  # overdue: the sweep has not reached it yet
            created = self.now - timedelta(hours=2, seconds=n % 3600)
        else:
            created = self.now - timedelta(days=1 + n % 365, seconds=n % 86400)
        expires = created + timedelta(minutes=HOLD_MINUTES)
        seat_price = CABINS[0][2] + (n % self.sizes.flights) % 50
        seats = self._seats(n)
        flight_total = seat_price * seats
        flight_item = (
            f"{booking_id}\t0\t{self._economy_cabin(n)}\t{seats}\t{seat_price}.00\t"
            f"{flight_total}.00\n"
        )
        hotel_item, hotel_total = None, 0
        if stay := self._stay(n):
            room_type, day, nights = stay
            check_in = self.first_day + timedelta(days=day)
            night_price = 60 + room_type % 90
            hotel_total = night_price * nights
            hotel_item = (
                f"{booking_id}\t1\t{self.room_type_ids[room_type]}\t{check_in.isoformat()}\t"
                f"{(check_in + timedelta(days=nights)).isoformat()}\t1\t{hotel_total}.00\t"
                f"{hotel_total}.00\n"
            )
        confirmed = cancelled = expired = None
        changes = [("", "held", "customer", customer, created)]
        if status in ("confirmed", "cancelled"):
            confirmed = created + timedelta(minutes=5)
            changes.append(("held", "confirmed", "customer", customer, confirmed))
        if status == "cancelled":
            cancelled = confirmed + timedelta(days=1)
            changes.append(("confirmed", "cancelled", "customer", customer, cancelled))
        if status == "released":
            cancelled = created + timedelta(minutes=3)
            changes.append(("held", "released", "customer", customer, cancelled))
        if status == "expired":
            expired = expires + timedelta(minutes=1)
            changes.append(("held", "expired", "system", None, expired))
        payment = f"scale-{booking_id}" if confirmed else None
        booking = "\t".join(
            [
                str(booking_id),
                _reference(booking_id),
                str(customer),
                status,
                _ts(created),
                _ts(expires),
                _ts(confirmed) if confirmed else NULL,
                _ts(cancelled) if cancelled else NULL,
                _ts(expired) if expired else NULL,
                payment or NULL,
                f"{flight_total + hotel_total}.00",
                "EUR",
                "0",
                "0.00",
                "",
                "",
            ]
        )
        history = [
            f"{booking_id}\t{old}\t{new}\t{kind}\t{actor or NULL}\t{_ts(at)}\t\n"
            for old, new, kind, actor, at in changes
        ]
        return booking + "\n", flight_item, hotel_item, history


def _reference(booking_id: int) -> str:
    """A unique six-character reference from the booking's id, in the
    references' own alphabet (drawing a million at random would collide)."""
    digits = []
    for _ in range(REFERENCE_LENGTH):
        booking_id, digit = divmod(booking_id, len(REFERENCE_ALPHABET))
        digits.append(REFERENCE_ALPHABET[digit])
    return "".join(reversed(digits))
