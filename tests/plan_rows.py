"""Rows enough for PostgreSQL's planner to choose its plans as it would at
scale, loaded by SQL in a second or two: 400 hotels in 40 cities ("City 0"
to "City 39") with 4 room types and 30 nights each (48,000 nights); 20
routes ("BAA"→"BAB", ...) over 150 days from today with 3 cabins each (9,000
cabins); 500 customers with 20,000 bookings (5 % held, 35 % confirmed, the
rest expired or cancelled), a flight item each and a stay for one in four.
`load` runs ANALYZE after, as autovacuum would."""

from django.db import connection

HOTELS = """
INSERT INTO hotels_hotel (name, city, address)
SELECT 'Hotel ' || i, 'City ' || (i % 40), i || ' Plan Street' FROM generate_series(1, 400) AS i;
INSERT INTO hotels_roomtype (hotel_id, code, name, max_guests)
SELECT h.id, 'RT' || k, 'Room', 2 FROM hotels_hotel AS h, generate_series(1, 4) AS k;
INSERT INTO hotels_roomnight
    (room_type_id, date, total_rooms, available_rooms, held_rooms, booked_rooms, price, currency)
SELECT rt.id, CURRENT_DATE + d, 10, (rt.id + d) % 11, 10 - (rt.id + d) % 11, 0, 80, 'EUR'
FROM hotels_roomtype AS rt, generate_series(0, 29) AS d;
"""

FLIGHTS = """
INSERT INTO flights_flight (flight_number, origin, destination, departure_at, arrival_at)
SELECT 'PL' || r, chr(65 + r / 26) || chr(65 + r % 26) || 'A',
       chr(65 + r / 26) || chr(65 + r % 26) || 'B',
       CURRENT_DATE + d + interval '8 hours', CURRENT_DATE + d + interval '10 hours'
FROM generate_series(26, 45) AS r, generate_series(0, 149) AS d;
INSERT INTO flights_flightinventory (
    flight_id, cabin_class, total_seats, available_seats, held_seats, booked_seats, price, currency
)
SELECT f.id, c, 100, f.id % 101, 100 - f.id % 101, 0, 129, 'EUR'
FROM flights_flight AS f, unnest(ARRAY['economy', 'business', 'first']) AS c;
"""

# Needs FLIGHTS and HOTELS: its items refer to their rows.
BOOKINGS = """
INSERT INTO auth_user
    (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
     date_joined)
SELECT '!', false, 'plan' || i, '', '', 'plan' || i || '@example.com', false, true, now()
FROM generate_series(1, 500) AS i;
INSERT INTO bookings_booking
    (reference, customer_id, status, created_at, expires_at, payment_reference, total_price,
     currency, extension_count, request_fingerprint)
SELECT lpad(to_hex(i), 6, '0'), u.id,
       CASE WHEN i % 20 = 0 THEN 'held' WHEN i % 20 < 8 THEN 'confirmed'
            WHEN i % 20 < 14 THEN 'expired' ELSE 'cancelled' END,
       now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '15 minutes',
       'pay-' || i, 129, 'EUR', 0, ''
FROM generate_series(1, 20000) AS i
JOIN (
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM auth_user
    WHERE username LIKE 'plan%'
) AS u ON u.n = i % 500;
INSERT INTO bookings_flightitem (booking_id, position, inventory_id, seats, unit_price, line_total)
SELECT b.id, 0, c.id, 1, 129, 129
FROM bookings_booking AS b
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM flights_flightinventory) AS c
  ON c.n = 1 + b.id % 9000;
INSERT INTO bookings_hotelitem
    (booking_id, position, room_type_id, check_in, check_out, rooms, unit_price, line_total)
SELECT b.id, 1, rt.id, CURRENT_DATE + (b.id % 27)::int, CURRENT_DATE + (b.id % 27)::int + 3,
       1, 240, 240
FROM bookings_booking AS b
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM hotels_roomtype) AS rt
  ON rt.n = 1 + b.id % 1600
WHERE b.id % 4 = 0;
"""

TABLES = (
    "hotels_hotel, hotels_roomtype, hotels_roomnight, flights_flight, flights_flightinventory,"
    " auth_user, bookings_booking, bookings_flightitem, bookings_hotelitem"
)


def load(*parts: str) -> None:
    with connection.cursor() as cursor:
        for sql in parts:
            cursor.execute(sql)
        cursor.execute(f"ANALYZE {TABLES}")
