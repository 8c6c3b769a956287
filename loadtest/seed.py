"""Test data for a stack, made with bulk ORM calls:

    python -m loadtest.seed inventory '{"cabins": [5000, 20], "room_types": [300]}'
    python -m loadtest.seed customers '{"count": 12}'
    python -m loadtest.seed overdue_holds '{"count": 3000, "customers": [1, 2], ...}'
    python -m loadtest.seed periodic_task '{"task": "bookings.tasks.expire_holds"}'

Runs with whatever DJANGO_SETTINGS_MODULE / DATABASE_URL the environment
gives (`Stack.seed` passes the stack's) and prints its result as JSON on the
last line. Counters are moved with the bookings they belong to, in one
transaction, so the invariants hold from the start.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal


@dataclass
class Inventory:
    """What `inventory` made: one flight (one economy cabin) per entry of
    `cabins`, one hotel with one room type per entry of `room_types`."""

    cabins: list[dict] = field(
        default_factory=list
    )  # {flight_id, cabin_class, inventory_id, seats}
    room_types: list[dict] = field(
        default_factory=list
    )  # {room_type_id, first_night, nights, rooms}

    @classmethod
    def from_json(cls, data: dict) -> Inventory:
        return cls(cabins=data["cabins"], room_types=data["room_types"])

    def items(self, *, max_units: int = 2, max_nights: int = 3) -> list[dict]:
        """Booking items (docs/api.md) over this inventory, one or more per row,
        for a load driver to pick from."""
        found = []
        for cabin in self.cabins:
            for seats in range(1, max_units + 1):
                found.append(
                    {
                        "type": "flight",
                        "flight_id": cabin["flight_id"],
                        "cabin_class": cabin["cabin_class"],
                        "seats": seats,
                    }
                )
        for room_type in self.room_types:
            first = date.fromisoformat(room_type["first_night"])
            for start in range(0, max(1, room_type["nights"] - max_nights + 1)):
                for length in range(1, max_nights + 1):
                    if start + length > room_type["nights"]:
                        continue
                    found.append(
                        {
                            "type": "hotel",
                            "room_type_id": room_type["room_type_id"],
                            "check_in": (first + timedelta(days=start)).isoformat(),
                            "check_out": (first + timedelta(days=start + length)).isoformat(),
                            "rooms": 1,
                        }
                    )
        return found


def inventory(
    *, cabins: list[int] = (), room_types: list[int] = (), nights: int = 7, days_ahead: int = 30
) -> dict:
    from flights.models import CabinClass, Flight, FlightInventory
    from hotels.models import Hotel, RoomNight, RoomType

    tag = secrets.token_hex(2).upper()
    departure = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=days_ahead
    )
    made = {"cabins": [], "room_types": []}
    for i, seats in enumerate(cabins):
        flight = Flight(
            flight_number=f"LT{(int(tag, 16) + i) % 10000}",
            origin="HAN",
            destination="SGN",
            departure_at=departure + timedelta(minutes=i),
            arrival_at=departure + timedelta(minutes=i, hours=2),
        )
        flight.save()
        row = FlightInventory.objects.create(
            flight=flight,
            cabin_class=CabinClass.ECONOMY,
            total_seats=seats,
            available_seats=seats,
            price=Decimal("100.00"),
            currency="EUR",
        )
        made["cabins"].append(
            {
                "flight_id": flight.pk,
                "cabin_class": row.cabin_class,
                "inventory_id": row.pk,
                "seats": seats,
            }
        )
    first_night = departure.date()
    for i, rooms in enumerate(room_types):
        hotel = Hotel.objects.create(name=f"Loadtest {tag} {i}", city="Hanoi", address="loopback")
        room_type = RoomType.objects.create(hotel=hotel, code="STD", name="Standard", max_guests=2)
        RoomNight.objects.bulk_create(
            RoomNight(
                room_type=room_type,
                date=first_night + timedelta(days=n),
                total_rooms=rooms,
                available_rooms=rooms,
                price=Decimal("80.00"),
                currency="EUR",
            )
            for n in range(nights)
        )
        made["room_types"].append(
            {
                "room_type_id": room_type.pk,
                "first_night": first_night.isoformat(),
                "nights": nights,
                "rooms": rooms,
            }
        )
    return made


def make_customers(*, count: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    tag = secrets.token_hex(3)
    users = user_model.objects.bulk_create(
        user_model(
            username=f"loadtest-{tag}-{i}",
            email=f"loadtest-{tag}-{i}@example.com",
            password=make_password(None),  # no login: they use tokens
        )
        for i in range(count)
    )
    return [
        {"id": user.pk, "username": user.username, "token": token}
        for user, token in zip(users, api_tokens(users), strict=True)
    ]


def api_tokens(users: list) -> list[str]:
    """One API token per user, as the client sends it (`Authorization: Token
    ...`): the one place that knows how the API issues tokens."""
    from accounts.tokens import issue_tokens

    return issue_tokens(users)


def tokens(*, usernames: list[str]) -> list[str]:
    """An API token for each of these existing users."""
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.filter(username__in=usernames)}
    return api_tokens([users[name] for name in usernames])


def superuser(*, username: str, password: str) -> dict:
    """A superuser who logs in to the admin with `password`."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser(username, f"{username}@example.com", password)
    return {"id": user.pk, "username": username}


def overdue_holds(
    *,
    count: int,
    customers: list[int] | None = None,
    inventory_id: int | None = None,
    room_type_id: int | None = None,
    check_in: str | None = None,
    overdue_by: int = 3600,
) -> dict:
    """`count` held bookings whose `expires_at` has passed, one seat each on
    `inventory_id` (default: a new cabin of `count` seats) and, every other
    one, a room for two nights on `room_type_id` from `check_in`; the
    counters move with them. Owned by `customers` (default: two new ones).
    Returns the bookings' id range and when they were committed."""
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from bookings.models import Actor, Booking, BookingStatusChange, FlightItem, HotelItem
    from flights.models import FlightInventory
    from hotels.models import RoomNight

    references = _fresh_references(count)
    if inventory_id is None:
        inventory_id = inventory(cabins=[count])["cabins"][0]["inventory_id"]
    if not customers:
        customers = [c["id"] for c in make_customers(count=2)]
    now = timezone.now()
    expires = now - timedelta(seconds=overdue_by)
    # Made 15 minutes before they expire, and never in the future (a negative
    # `overdue_by` makes holds that are still running: `payable_holds`).
    created = min(now, expires) - timedelta(seconds=900)
    price = Decimal("100.00")
    with transaction.atomic():
        bookings = Booking.objects.bulk_create(
            Booking(
                reference=references[i],
                customer_id=customers[i % len(customers)],
                created_at=created,
                expires_at=expires,
                total_price=price,
                currency="EUR",
            )
            for i in range(count)
        )
        FlightItem.objects.bulk_create(
            FlightItem(
                booking=booking,
                position=0,
                inventory_id=inventory_id,
                seats=1,
                unit_price=price,
                line_total=price,
            )
            for booking in bookings
        )
        with_room = bookings[::2] if room_type_id else []
        if with_room:
            stay_start = date.fromisoformat(check_in)
            HotelItem.objects.bulk_create(
                HotelItem(
                    booking=booking,
                    position=1,
                    room_type_id=room_type_id,
                    check_in=stay_start,
                    check_out=stay_start + timedelta(days=2),
                    rooms=1,
                    unit_price=Decimal("0.00"),
                    line_total=Decimal("0.00"),
                )
                for booking in with_room
            )
            RoomNight.objects.filter(
                room_type_id=room_type_id,
                date__gte=stay_start,
                date__lt=stay_start + timedelta(days=2),
            ).update(
                available_rooms=F("available_rooms") - len(with_room),
                held_rooms=F("held_rooms") + len(with_room),
            )
        BookingStatusChange.objects.bulk_create(
            BookingStatusChange(
                booking=booking,
                from_status="",
                to_status="held",
                actor_kind=Actor.CUSTOMER,
                actor_id=booking.customer_id,
                at=created,
            )
            for booking in bookings
        )
        FlightInventory.objects.filter(pk=inventory_id).update(
            available_seats=F("available_seats") - count, held_seats=F("held_seats") + count
        )
    return {
        "count": count,
        "with_room": len(with_room),
        "ids": [bookings[0].pk, bookings[-1].pk],
        "committed_at": timezone.now().isoformat(),
    }


def _fresh_references(count: int) -> list[str]:
    """`count` booking references, distinct and none in use: a bulk insert of
    tens of thousands of random draws would otherwise meet a taken one (the
    birthday bound of a billion codes) and fail whole."""
    from bookings.models import Booking, new_reference

    drawn: set[str] = set()
    while len(drawn) < count:
        drawn.update(new_reference() for _ in range(count - len(drawn)))
        taken = Booking.objects.filter(reference__in=drawn).values_list("reference", flat=True)
        drawn -= set(taken)
    return list(drawn)


def payable_holds(*, count: int, customers: list[int] | None = None) -> list[dict]:
    """`count` running holds (an hour left), one seat each on a new cabin of
    their own, each with the pending sandbox payment that starting a payment
    makes: what the sandbox's `payment.succeeded` webhooks of the side-by-side
    bench confirm. Returns the payments as the API shows them (id, amount,
    currency)."""
    from bookings.models import Booking
    from payments.models import Payment

    made = overdue_holds(count=count, customers=customers, overdue_by=-3600)
    first, last = made["ids"]
    bookings = Booking.objects.filter(pk__range=(first, last)).values_list(
        "pk", "total_price", "currency"
    )
    payments = Payment.objects.bulk_create(
        Payment(booking_id=pk, provider="sandbox", amount=price, currency=currency)
        for pk, price, currency in bookings
    )
    for payment in payments:
        payment.provider_id = payment.id
        payment.checkout_url = f"/sandbox/checkout/{payment.id}/"
    Payment.objects.bulk_update(payments, ["provider_id", "checkout_url"], batch_size=5000)
    return [{"id": p.id, "amount": f"{p.amount:.2f}", "currency": p.currency} for p in payments]


def seat_mapped_flight(*, rows: int = 5000, columns: str = "ABC DEF", first_row: int = 1) -> dict:
    """One flight whose economy cabin has a seat map of `rows` rows of
    `columns` (a space is an aisle), made by the service staff's API uses."""
    from flights.models import CabinClass
    from flights.services import create_flight

    seats = rows * len(columns.replace(" ", ""))
    departure = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    flight = create_flight(
        flight_number=f"SM{secrets.randbelow(9000) + 1000}",
        origin="HAN",
        destination="SGN",
        departure_at=departure,
        arrival_at=departure + timedelta(hours=2),
        cabins=[
            {
                "cabin_class": CabinClass.ECONOMY,
                "total_seats": seats,
                "price": Decimal("100.00"),
                "currency": "EUR",
                "seat_map": {"first_row": first_row, "rows": rows, "columns": columns},
            }
        ],
    )
    return {
        "flight_id": flight.pk,
        "cabin_class": CabinClass.ECONOMY,
        "seats": seats,
        "first_row": first_row,
        "rows": rows,
        "columns": columns,
    }


def webhook_endpoint(*, url: str) -> dict:
    """One active webhook endpoint subscribed to every event type."""
    from events.models import EventType, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        url=url, event_types=list(EventType.values), description="bench receiver"
    )
    return {"id": endpoint.pk, "url": endpoint.url}


def _booking_data(reference: str) -> dict:
    """A booking of one seat, shaped as the API answers it (an event's
    `data.booking`), so a delivery carries a body of the usual size."""
    return {
        "reference": reference,
        "status": "held",
        "created_at": "2026-12-01T10:00:00Z",
        "expires_at": "2026-12-01T10:15:00Z",
        "total_price": "100.00",
        "currency": "EUR",
        "extensions_left": 1,
        "items": [
            {
                "type": "flight",
                "flight_id": 1,
                "flight_number": "LT1234",
                "origin": "HAN",
                "destination": "SGN",
                "departure_at": "2026-12-31T10:00:00Z",
                "cabin_class": "economy",
                "seats": 1,
                "seat_numbers": [],
                "unit_price": "100.00",
                "line_total": "100.00",
            }
        ],
    }


def pending_events(*, count: int, batch: int = 5000) -> dict:
    """`count` events not yet relayed, as a backlog left by a relay that did
    not run: pairs of `booking.held` and `booking.released` of one booking
    each (so the per-booking delivery order is at work), bulk-inserted."""
    from events.models import Event, EventType

    now = datetime.now(UTC)
    made = 0
    while made < count:
        size = min(batch, count - made)
        Event.objects.bulk_create(
            Event(
                type=EventType.BOOKING_RELEASED if (made + i) % 2 else EventType.BOOKING_HELD,
                created_at=now,
                data={"booking": _booking_data(f"BENCH{(made + i) // 2:07d}")},
            )
            for i in range(size)
        )
        made += size
    return {"count": made}


AIRPORTS = ["HAN", "SGN", "DAD", "CXR", "PQC", "HPH", "HUI", "BKK", "SIN", "KUL", "ICN", "NRT"]
CITIES = ["Hanoi", "Saigon", "Da Nang", "Nha Trang", "Hue", "Bangkok", "Singapore", "Seoul"]


def year_of_inventory(
    *,
    routes: int = 40,
    flights_per_day: int = 4,
    cities: int = 8,
    hotels_per_city: int = 25,
    room_types_per_hotel: int = 3,
    days: int = 365,
) -> dict:
    """A year of inventory for the search benchmark, from tomorrow (UTC):
    `routes` routes with `flights_per_day` flights a day, each with an
    economy and a business cabin; `hotels_per_city` hotels in each of
    `cities` cities, each room type on sale every night. Inserted by
    INSERT ... SELECT over generate_series (seconds, not minutes), then
    ANALYZEd so the planner knows the tables' size."""
    from django.db import connection, transaction

    from hotels.models import Hotel, RoomType

    pairs = [(a, b) for a in AIRPORTS for b in AIRPORTS if a != b][:routes]
    if len(pairs) < routes or routes * flights_per_day > 9999:
        raise ValueError("too many routes or flights a day")
    first_day = datetime.now(UTC).date() + timedelta(days=1)
    tag = "Y" + secrets.choice("ABCDEFGHJKLMNPQRSTUVWXZ")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO flights_flight
                (flight_number, origin, destination, departure_at, arrival_at)
            SELECT %(tag)s || ((r.i - 1) * %(per_day)s + s.slot + 1)::text,
                   r.origin, r.destination, t.dep, t.dep + interval '2 hours'
            FROM unnest(%(origins)s::text[], %(destinations)s::text[])
                 WITH ORDINALITY AS r(origin, destination, i)
            CROSS JOIN generate_series(0, %(per_day)s - 1) AS s(slot)
            CROSS JOIN generate_series(0, %(days)s - 1) AS d(n)
            CROSS JOIN LATERAL (
                SELECT ((%(first)s::date + d.n)::timestamp
                        + make_interval(hours => 5 + s.slot * 4, mins => r.i::int))
                       AT TIME ZONE 'UTC'
            ) AS t(dep)
            """,
            {
                "tag": tag,
                "per_day": flights_per_day,
                "origins": [a for a, _ in pairs],
                "destinations": [b for _, b in pairs],
                "days": days,
                "first": first_day,
            },
        )
        flights = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO flights_flightinventory (flight_id, cabin_class, total_seats,
                available_seats, held_seats, booked_seats, price, currency)
            SELECT f.id, c.cabin_class, c.seats, c.seats, 0, 0, c.price + f.id %% 50, 'EUR'
            FROM flights_flight f
            CROSS JOIN (VALUES ('economy', 180, 89.00), ('business', 24, 420.00))
                 AS c(cabin_class, seats, price)
            WHERE f.flight_number LIKE %(pattern)s AND f.departure_date >= %(first)s
            """,
            {"pattern": tag + "%", "first": first_day},
        )
        cabins = cursor.rowcount
        hotels = Hotel.objects.bulk_create(
            Hotel(name=f"Bench {tag} {city} {n}", city=city, address=f"{n} Bench street")
            for city in CITIES[:cities]
            for n in range(hotels_per_city)
        )
        room_types = RoomType.objects.bulk_create(
            RoomType(hotel=hotel, code=f"R{k}", name=f"Room {k}", max_guests=2 + k % 2)
            for hotel in hotels
            for k in range(room_types_per_hotel)
        )
        cursor.execute(
            """
            INSERT INTO hotels_roomnight (room_type_id, date, total_rooms, available_rooms,
                held_rooms, booked_rooms, price, currency)
            SELECT rt, %(first)s::date + d.n, 20, 20, 0, 0, 60 + rt %% 90, 'EUR'
            FROM unnest(%(ids)s::bigint[]) AS rt
            CROSS JOIN generate_series(0, %(days)s - 1) AS d(n)
            """,
            {"ids": [room_type.pk for room_type in room_types], "first": first_day, "days": days},
        )
        nights = cursor.rowcount
    with connection.cursor() as cursor:
        for table in ("flights_flight", "flights_flightinventory", "hotels_roomnight"):
            cursor.execute(f"ANALYZE {table}")
    return {
        "first_day": first_day.isoformat(),
        "days": days,
        "routes": pairs,
        "cities": CITIES[:cities],
        "flights": flights,
        "cabins": cabins,
        "hotels": len(hotels),
        "room_types": len(room_types),
        "room_nights": nights,
    }


def periodic_task(*, task: str, every: int = 2, name: str = "loadtest sweep") -> dict:
    """Have beat (DatabaseScheduler) send `task` every `every` seconds."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=every, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=name, defaults={"task": task, "interval": schedule, "enabled": True}
    )
    return {"task": task, "every": every}


COMMANDS = {
    "inventory": inventory,
    "customers": make_customers,
    "tokens": tokens,
    "superuser": superuser,
    "overdue_holds": overdue_holds,
    "periodic_task": periodic_task,
    "payable_holds": payable_holds,
    "seat_mapped_flight": seat_mapped_flight,
    "webhook_endpoint": webhook_endpoint,
    "pending_events": pending_events,
    "year_of_inventory": year_of_inventory,
}


def main(argv: list[str]) -> None:
    """`COMMAND '{arguments}'` prints the command's result; `'[[COMMAND,
    {arguments}], ...]'` runs several and prints the list of their results."""
    import django

    django.setup()
    if argv[0] in COMMANDS:
        arguments = json.loads(argv[1]) if len(argv) > 1 else {}
        print(json.dumps(COMMANDS[argv[0]](**arguments)))
    else:
        print(
            json.dumps(
                [COMMANDS[command](**arguments) for command, arguments in json.loads(argv[0])]
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
