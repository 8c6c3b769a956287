"""What the fault tests and the bench check on a stack's database after a
run (docs/design.md, Invariants):

- the counters, by `manage.py reconcile_inventory` run on the stack: the one
  drift finder (bookings/reconciliation.py), also behind tests/invariants.py;
- no booking is half-changed: each status has the fields its transition sets
  and only those, its last status change leads to its status, no transition
  happened twice, and it has items (SQL below, over one snapshot).
"""

from __future__ import annotations

import psycopg

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


def connect(database_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url, autocommit=True, connect_timeout=5)


def check_stack(stack) -> list[str]:
    """One line per broken invariant on `stack`'s database (empty: all hold)."""
    problems = half_changed_bookings(stack.database_url)
    result = stack.manage("reconcile_inventory", check=False, timeout=300)
    if result.returncode != 0:
        problems.append(
            f"reconcile_inventory exited {result.returncode}:\n"
            f"{(result.stdout + result.stderr)[-2000:]}"
        )
    return problems


def half_changed_bookings(database_url: str, *, sample: int = 5) -> list[str]:
    """One line per broken booking check, naming a few of the rows that break
    it. All checks read one snapshot (a repeatable-read transaction)."""
    problems = []
    with connect(database_url) as conn:
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, query in HALF_CHANGED_BOOKINGS.items():
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
