"""The invariants of DESIGN.md, checked with SQL over a stack's database
after a run. Every check returns the rows that break it; `check_database`
returns one line per broken invariant (an empty list: all hold).

- every inventory row adds up: `available + held + booked == total`, none < 0;
- `held` is the sum over items of bookings in `held` (overdue ones included:
  their units are held until someone expires them), `booked` the sum for
  `confirmed` (what `reconcile_inventory` compares);
- no booking is half-changed: each status has the fields its transition sets
  and only those, its last status change leads to its status, no transition
  happened twice, and it has items.
"""

from __future__ import annotations

import psycopg

COUNTERS_ADD_UP = {
    "flight cabins that do not add up": """
        SELECT id, total_seats, available_seats, held_seats, booked_seats
        FROM flights_flightinventory
        WHERE total_seats <> available_seats + held_seats + booked_seats
           OR available_seats < 0 OR held_seats < 0 OR booked_seats < 0
    """,
    "room nights that do not add up": """
        SELECT id, total_rooms, available_rooms, held_rooms, booked_rooms
        FROM hotels_roomnight
        WHERE total_rooms <> available_rooms + held_rooms + booked_rooms
           OR available_rooms < 0 OR held_rooms < 0 OR booked_rooms < 0
    """,
}

COUNTERS_MATCH_BOOKINGS = {
    "flight cabins whose counters differ from their bookings": """
        SELECT fi.id, fi.held_seats, fi.booked_seats, s.held, s.booked
        FROM flights_flightinventory fi
        LEFT JOIN (
            SELECT it.inventory_id,
                   SUM(it.seats) FILTER (WHERE b.status = 'held') AS held,
                   SUM(it.seats) FILTER (WHERE b.status = 'confirmed') AS booked
            FROM bookings_flightitem it JOIN bookings_booking b ON b.id = it.booking_id
            GROUP BY it.inventory_id
        ) s ON s.inventory_id = fi.id
        WHERE fi.held_seats <> COALESCE(s.held, 0) OR fi.booked_seats <> COALESCE(s.booked, 0)
    """,
    "room nights whose counters differ from their bookings": """
        SELECT rn.id, rn.held_rooms, rn.booked_rooms, s.held, s.booked
        FROM hotels_roomnight rn
        LEFT JOIN (
            SELECT n.id,
                   SUM(hi.rooms) FILTER (WHERE b.status = 'held') AS held,
                   SUM(hi.rooms) FILTER (WHERE b.status = 'confirmed') AS booked
            FROM hotels_roomnight n
            JOIN bookings_hotelitem hi ON hi.room_type_id = n.room_type_id
                 AND n.date >= hi.check_in AND n.date < hi.check_out
            JOIN bookings_booking b ON b.id = hi.booking_id
            GROUP BY n.id
        ) s ON s.id = rn.id
        WHERE rn.held_rooms <> COALESCE(s.held, 0) OR rn.booked_rooms <> COALESCE(s.booked, 0)
    """,
}

HALF_CHANGED_BOOKINGS = {
    "bookings whose fields do not match their status": """
        SELECT id, reference, status, payment_reference, confirmed_at, cancelled_at, expired_at
        FROM bookings_booking
        WHERE (status = 'held' AND (confirmed_at IS NOT NULL OR cancelled_at IS NOT NULL
                                    OR expired_at IS NOT NULL OR payment_reference IS NOT NULL))
           OR (status = 'confirmed' AND (payment_reference IS NULL OR payment_reference = ''
                                         OR confirmed_at IS NULL OR cancelled_at IS NOT NULL
                                         OR expired_at IS NOT NULL))
           OR (status = 'released' AND (cancelled_at IS NULL OR confirmed_at IS NOT NULL
                                        OR expired_at IS NOT NULL))
           OR (status = 'cancelled' AND (cancelled_at IS NULL OR confirmed_at IS NULL
                                         OR payment_reference IS NULL OR expired_at IS NOT NULL))
           OR (status = 'expired' AND (expired_at IS NULL OR confirmed_at IS NOT NULL
                                       OR cancelled_at IS NOT NULL))
           OR status NOT IN ('held', 'confirmed', 'released', 'cancelled', 'expired')
    """,
    "bookings whose last status change does not lead to their status": """
        SELECT b.id, b.reference, b.status, last.to_status
        FROM bookings_booking b
        LEFT JOIN LATERAL (
            SELECT to_status FROM bookings_bookingstatuschange c
            WHERE c.booking_id = b.id ORDER BY c.at DESC, c.id DESC LIMIT 1
        ) last ON true
        WHERE last.to_status IS DISTINCT FROM b.status
    """,
    "bookings that made one transition twice": """
        SELECT booking_id, to_status, COUNT(*)
        FROM bookings_bookingstatuschange
        WHERE from_status IS DISTINCT FROM to_status
        GROUP BY booking_id, to_status HAVING COUNT(*) > 1
    """,
    "bookings without items": """
        SELECT b.id, b.reference, b.status FROM bookings_booking b
        WHERE NOT EXISTS (SELECT 1 FROM bookings_flightitem f WHERE f.booking_id = b.id)
          AND NOT EXISTS (SELECT 1 FROM bookings_hotelitem h WHERE h.booking_id = b.id)
    """,
}

ALL_CHECKS = {**COUNTERS_ADD_UP, **COUNTERS_MATCH_BOOKINGS, **HALF_CHANGED_BOOKINGS}


def connect(database_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url, autocommit=True, connect_timeout=5)


def check_database(
    database_url: str, *, checks: dict[str, str] | None = None, sample: int = 5
) -> list[str]:
    """One line per broken invariant, naming a few of the rows that break it.
    All checks read one snapshot (a repeatable-read transaction)."""
    problems = []
    with connect(database_url) as conn:
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, query in (checks or ALL_CHECKS).items():
            rows = conn.execute(query).fetchall()
            if rows:
                problems.append(f"{len(rows)} {name}, e.g. {rows[:sample]}")
        conn.rollback()
    return problems


def booking_counts(database_url: str) -> dict[str, int]:
    """Bookings by stored status, for reports."""
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status, COUNT(*) FROM bookings_booking GROUP BY status ORDER BY status"
        ).fetchall()
    return dict(rows)


def count(database_url: str, query: str, *params) -> int:
    with connect(database_url) as conn:
        return conn.execute(query, params).fetchone()[0]


def row(database_url: str, query: str, *params) -> tuple:
    with connect(database_url) as conn:
        return conn.execute(query, params).fetchone()
