"""The three writes every hold and cancel makes, in hand-written SQL because a
figure says it pays (README, Performance: each one's side-by-side ratio
against its ORM twin): a transition's counter move, a hold's whole write
(booking, items, history, event and its counter move), a transition's status
change. Everything else goes through the ORM.

Each statement has an ORM twin in tests/bookings/statement_twins.py, and
tests/bookings/test_statements.py checks that both leave the database in the
same state. Callers run them inside transaction.atomic().
"""

from collections.abc import Mapping, Sequence

from django.db import connection
from django.db.models import Model
from psycopg.types.json import Jsonb

from bookings.models import Booking, BookingStatusChange, FlightItem, HotelItem, SeatAssignment
from events.models import Event

_MOVE_COUNTERS_SQL = """
WITH moves AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(units)s::integer[]) AS m(id, n)
), locked AS MATERIALIZED (
    SELECT id FROM {table} WHERE id IN (SELECT id FROM moves) ORDER BY id FOR NO KEY UPDATE
)
UPDATE {table} AS row
SET {source} = row.{source} - moves.n, {target} = row.{target} + moves.n
FROM moves JOIN locked ON locked.id = moves.id
WHERE row.id = moves.id
"""


def move_counters(
    model: type[Model], units_by_row: Mapping[int, int], *, source: str, target: str
) -> None:
    """Move `units_by_row[pk]` units from the `source` counter column to the
    `target` one of each row, as `F()` would (`SET held = held + n`), locking
    the rows in primary-key order first (FOR NO KEY UPDATE: the counters are no
    key, so inserting an item that refers to a row is not blocked). The
    CheckConstraints refuse a move that would make a counter negative.

    Gain: one statement for every row of the move, where the ORM takes a
    locking SELECT and one UPDATE per row."""
    quote = connection.ops.quote_name
    fields = model._meta
    sql = _MOVE_COUNTERS_SQL.format(
        table=quote(fields.db_table),
        source=quote(fields.get_field(source).column),
        target=quote(fields.get_field(target).column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(units_by_row), "units": list(units_by_row.values())})


_INSERT_HELD_BOOKING_SQL = """
WITH booking AS (
    INSERT INTO bookings_booking (
        reference, customer_id, status, created_at, expires_at, total_price, currency,
        extension_count, idempotency_key, request_fingerprint, idempotent_response
    )
    VALUES (
        %(reference)s, %(customer)s, %(status)s, %(now)s, %(expires_at)s, %(total_price)s,
        %(currency)s, 0, %(idempotency_key)s, %(fingerprint)s, %(answer)s
    )
    ON CONFLICT (reference) DO NOTHING
    RETURNING id
), flight_items AS (
    INSERT INTO bookings_flightitem
        (booking_id, position, inventory_id, seats, unit_price, line_total)
    SELECT booking.id, item.* FROM booking, unnest(
        %(f_position)s::smallint[], %(f_inventory_id)s::bigint[], %(f_seats)s::smallint[],
        %(f_unit_price)s::numeric[], %(f_line_total)s::numeric[]
    ) AS item
), hotel_items AS (
    INSERT INTO bookings_hotelitem
        (booking_id, position, room_type_id, check_in, check_out, rooms, unit_price, line_total)
    SELECT booking.id, item.* FROM booking, unnest(
        %(h_position)s::smallint[], %(h_room_type_id)s::bigint[], %(h_check_in)s::date[],
        %(h_check_out)s::date[], %(h_rooms)s::smallint[], %(h_unit_price)s::numeric[],
        %(h_line_total)s::numeric[]
    ) AS item
), history AS (
    INSERT INTO bookings_bookingstatuschange
        (booking_id, from_status, to_status, actor_kind, actor_id, at, note)
    SELECT id, %(from_status)s, %(status)s, %(actor_kind)s, %(actor)s, %(now)s, %(note)s
    FROM booking
), event AS (
    INSERT INTO events_event (id, type, created_at, data)
    SELECT %(event_id)s, %(event_type)s, %(event_at)s, %(event_data)s FROM booking
), seats AS (
    UPDATE flights_flightinventory AS cabin
    SET available_seats = cabin.available_seats - taken.n, held_seats = cabin.held_seats + taken.n
    FROM booking, unnest(%(seat_rows)s::bigint[], %(seat_units)s::integer[]) AS taken(id, n)
    WHERE cabin.id = taken.id
), rooms AS (
    UPDATE hotels_roomnight AS night
    SET available_rooms = night.available_rooms - taken.n, held_rooms = night.held_rooms + taken.n
    FROM booking, unnest(%(room_rows)s::bigint[], %(room_units)s::integer[]) AS taken(id, n)
    WHERE night.id = taken.id
){seat_assignments}
SELECT id FROM booking
"""

# Only in a hold that takes seats of a cabin with a seat map: a hold without
# one says nothing of seats (and PostgreSQL opens no assignment index for it).
_SEAT_ASSIGNMENTS_CTE = """, seat_assignments AS (
    INSERT INTO bookings_seatassignment (booking_id, item_position, seat_id, active)
    SELECT booking.id, taken.*, true FROM booking, unnest(
        %(a_item_position)s::smallint[], %(a_seat_id)s::bigint[]
    ) AS taken
)"""

_FLIGHT_ITEM_COLUMNS = ("position", "inventory_id", "seats", "unit_price", "line_total")
_HOTEL_ITEM_COLUMNS = (
    "position",
    "room_type_id",
    "check_in",
    "check_out",
    "rooms",
    "unit_price",
    "line_total",
)


def insert_held_booking(
    booking: Booking,
    items: Sequence[FlightItem | HotelItem],
    history: BookingStatusChange,
    event: Event,
    *,
    seats: Mapping[int, int],
    rooms: Mapping[int, int],
    seat_assignments: Sequence[SeatAssignment] = (),
) -> bool:
    """Write a new held booking, its items, its first history row, its
    event and its seats' assignments (`seat_assignments`, without their
    booking), and move its units (`seats` by cabin, `rooms` by room night,
    rows the caller has locked) from available to held. False, and nothing
    written, if another booking has its reference: the caller draws another.
    Sets the primary keys of `booking` and its items' booking.

    Gain: one statement, so the cabins a rush contends for stay locked for
    one round trip and the commit after the hold has decided, where the ORM
    takes four INSERTs and an UPDATE per row (and one more INSERT for the
    seats: with it here, a hold of a chosen or picked seat costs one query
    and ~370 Python calls less, `loadtest.call_count --seats`)."""
    flights = [item for item in items if isinstance(item, FlightItem)]
    hotels = [item for item in items if isinstance(item, HotelItem)]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_HELD_BOOKING_SQL.format(
                seat_assignments=_SEAT_ASSIGNMENTS_CTE if seat_assignments else ""
            ),
            {
                "reference": booking.reference,
                "customer": booking.customer_id,
                "status": booking.status,
                "now": booking.created_at,
                "expires_at": booking.expires_at,
                "total_price": booking.total_price,
                "currency": booking.currency,
                "idempotency_key": booking.idempotency_key,
                "fingerprint": booking.request_fingerprint,
                "answer": _jsonb(booking.idempotent_response),
                "from_status": history.from_status,
                "actor_kind": history.actor_kind,
                "actor": history.actor_id,
                "note": history.note,
                "event_id": event.id,
                "event_type": event.type,
                "event_at": event.created_at,
                "event_data": Jsonb(event.data),
                "seat_rows": list(seats),
                "seat_units": list(seats.values()),
                "room_rows": list(rooms),
                "room_units": list(rooms.values()),
                **_columns("f", flights, _FLIGHT_ITEM_COLUMNS),
                **_columns("h", hotels, _HOTEL_ITEM_COLUMNS),
                **_columns("a", seat_assignments, ("item_position", "seat_id")),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return False
    (booking.pk,) = row
    booking._state.adding = False
    for item in items:
        item.booking = booking
    for assignment in seat_assignments:
        assignment.booking = booking
    return True


_CHANGE_STATUS_SQL = """
WITH changed AS (
    UPDATE bookings_booking SET status = %(to_status)s{assignments}
    WHERE id = ANY(%(ids)s::bigint[])
){freed_seats}, history AS (
    INSERT INTO bookings_bookingstatuschange
        (booking_id, from_status, to_status, actor_kind, actor_id, at, note)
    SELECT change.booking_id, %(from_status)s, %(to_status)s, change.actor_kind,
        %(actor)s, %(now)s, %(note)s
    FROM unnest(%(ids)s::bigint[], %(actor_kinds)s::varchar[]) AS change(booking_id, actor_kind)
)
INSERT INTO events_event (id, type, created_at, data)
SELECT event.* FROM unnest(
    %(event_ids)b::varchar[], %(event_types)b::varchar[], %(event_at)b::timestamptz[],
    %(event_data)b::jsonb[]
) AS event
"""


# Only in a change that frees seats of a cabin with a seat map.
_FREED_SEATS_CTE = """, freed_seats AS (
    UPDATE bookings_seatassignment SET active = false
    WHERE booking_id = ANY(%(seat_holders)s::bigint[]) AND active
)"""


def change_status(
    bookings: Sequence[Booking],
    history: Sequence[BookingStatusChange],
    events: Sequence[Event],
    fields: Mapping[str, object],
    seat_holders: Sequence[int] = (),
) -> None:
    """Write the new status (and `fields`) of locked bookings that all move
    between the same two statuses, with one history row and one event each,
    and end the active seat assignments of `seat_holders` (ids of bookings
    among them).

    Gain: one statement where the ORM takes an UPDATE and two INSERTs (and
    one more UPDATE for the seats: with it here, a cancel of a seat-mapped
    hold costs one query and 600 Python calls less, `loadtest.call_count
    --seats`)."""
    quote = connection.ops.quote_name
    assignments = "".join(
        f", {quote(Booking._meta.get_field(name).column)} = %({name})s" for name in fields
    )
    first = history[0]
    with connection.cursor() as cursor:
        cursor.execute(
            _CHANGE_STATUS_SQL.format(
                assignments=assignments, freed_seats=_FREED_SEATS_CTE if seat_holders else ""
            ),
            {
                **fields,
                "ids": [booking.pk for booking in bookings],
                "seat_holders": list(seat_holders),
                "from_status": first.from_status,
                "to_status": first.to_status,
                "actor_kinds": [change.actor_kind for change in history],
                "actor": first.actor_id,
                "now": first.at,
                "note": first.note,
                "event_ids": [event.id for event in events],
                "event_types": [event.type for event in events],
                "event_at": [event.created_at for event in events],
                "event_data": [Jsonb(event.data) for event in events],
            },
        )


def _columns(prefix: str, lines, names) -> dict[str, list]:
    """The items' values as one array per column, `<prefix>_<name>`, for unnest()."""
    return {f"{prefix}_{name}": [getattr(line, name) for line in lines] for name in names}


def _jsonb(value):
    return None if value is None else Jsonb(value)
