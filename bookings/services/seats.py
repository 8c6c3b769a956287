"""Seats of cabins with a seat map: taken with a hold (the customer's choice,
or picked side by side), freed when a booking leaves held or confirmed, taken
again when a late payment confirms an ended hold, and blocked or unblocked by
staff.

Every write to a cabin's seats (a hold taking them, a seat change, staff
blocking one, a repair) holds that cabin's row lock first (see `inventory`),
so the cabin's takers run one at a time: a hold reads the free seats
without locking them, and no seat it read free is taken by anyone else
before it commits. Two customers choosing overlapping seats wait on the
cabin, never on each other crosswise. A cabin without a map (`has_seat_map`,
read from the locked cabin row) never touches a Seat row: it costs no query.
The partial unique constraint on SeatAssignment is the last word: a seat has
at most one active assignment.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q

from bookings import selectors
from bookings.exceptions import InsufficientInventory, SeatUnavailable
from bookings.models import Booking, FlightItem, SeatAssignment
from bookings.services.availability import Cabins
from bookings.services.inventory import lock_rows
from bookings.services.requests import FlightRequest, ItemRequest
from config import search_cache
from config.exceptions import ValidationFailed
from flights.models import FlightInventory, Seat

# How many free seats, front to back, the automatic choice of several seats
# looks at: enough for side by side in a few rows, few enough to stay cheap on
# a huge cabin. One seat needs no window: it is the first free one.
PICK_WINDOW = 64
# The columns a pick reads, in Seat's field order (for `Seat.from_db`).
PICKED_FIELDS = ("id", "row", "column", "number")


@dataclass
class SeatChoice:
    """The seats each flight item of a hold gets (by item index), or why not."""

    by_item: dict[int, list[Seat]] = field(default_factory=dict)
    unavailable_seats: list[str] = field(default_factory=list)
    # Items the automatic choice found too few free seats for (as shortages).
    shortages: list[dict] = field(default_factory=list)


def active_seats() -> Exists:
    """Whether a seat (the outer query's row) is held or booked."""
    return active_seats_of("pk")


def active_seats_of(seat: str) -> Exists:
    """Whether the seat the outer query's field `seat` names is held or booked."""
    return Exists(SeatAssignment.objects.filter(seat=OuterRef(seat), active=True))


# A hold's two reads of seats, built once per process with their subquery
# resolved; each read adds its cabin to a clone. Building and resolving the
# NOT EXISTS anew was about 300 of a read's 750 µs of Python (the SQL itself
# runs in 35), `loadtest.call_count --seats`.
# Free seats (not blocked, no active assignment) front to back, as tuples of
# PICKED_FIELDS.
FREE_SEATS = (
    Seat.objects.filter(blocked=False)
    .exclude(active_seats())
    .order_by("row", "column")
    .values_list(*PICKED_FIELDS, named=True)
)
# Seats, as tuples of PICKED_FIELDS and their cabin, whether `blocked` and
# whether `taken` (held or booked).
SEATS_TAKEN_OR_NOT = Seat.objects.annotate(taken=active_seats()).values_list(
    *PICKED_FIELDS, "inventory_id", "blocked", "taken", named=True
)


def choose(items: Sequence[ItemRequest], cabins: Cabins) -> SeatChoice:
    """The seats for the hold's flight items on cabins with a map: chosen
    ones first (all read in one statement), then the automatic picks.
    Chosen seat numbers the cabin does not have, or given for a cabin
    without a map, are the request's fault (400)."""
    choice = SeatChoice()
    mapped = [
        (i, item, cabins[(item.flight_id, item.cabin_class)])
        for i, item in enumerate(items)
        if isinstance(item, FlightRequest)
    ]
    _check_chosen_on_maps(mapped)
    mapped = [(i, item, cabin) for i, item, cabin in mapped if cabin.has_seat_map]
    chosen = [(i, item, cabin) for i, item, cabin in mapped if item.seat_numbers]
    if chosen:
        _take_chosen(chosen, choice)
        if choice.unavailable_seats:
            return choice
    taken = {seat.pk for seats in choice.by_item.values() for seat in seats}
    for i, item, cabin in mapped:
        if item.seat_numbers:
            continue
        picked = pick(cabin, item.seats, exclude=taken)
        if len(picked) < item.seats:
            choice.shortages.append({"item": i, "requested": item.seats, "available": len(picked)})
            continue
        choice.by_item[i] = picked
        taken.update(seat.pk for seat in picked)
    return choice


def _check_chosen_on_maps(mapped) -> None:
    errors = []
    for i, item, cabin in mapped:
        if item.seat_numbers and not cabin.has_seat_map:
            errors.append(_seat_error(i, "no_seat_map", "This cabin has no seat map."))
    if errors:
        raise ValidationFailed(errors)


def _take_chosen(chosen, choice: SeatChoice) -> None:
    wanted = [Q(inventory_id=cabin.pk, number__in=item.seat_numbers) for _, item, cabin in chosen]
    seats = SEATS_TAKEN_OR_NOT.filter(reduce(or_, wanted))
    found = {(seat.inventory_id, seat.number): seat for seat in seats}
    errors, claimed = [], set()
    for i, item, cabin in chosen:
        unknown = [n for n in item.seat_numbers if (cabin.pk, n) not in found]
        twice = [n for n in item.seat_numbers if (cabin.pk, n) in claimed]
        claimed.update((cabin.pk, n) for n in item.seat_numbers)
        if unknown:
            detail = f"This cabin has no seat {', '.join(unknown)}."
            errors.append(_seat_error(i, "does_not_exist", detail))
        elif twice:
            detail = f"Seat {', '.join(twice)} is chosen by another item too."
            errors.append(_seat_error(i, "duplicate", detail))
        else:
            choice.by_item[i] = [found[(cabin.pk, n)] for n in item.seat_numbers]
    if errors:
        raise ValidationFailed(errors)
    choice.unavailable_seats = [
        seat.number
        for seats in choice.by_item.values()
        for seat in seats
        if seat.blocked or seat.taken
    ]
    for i, rows in choice.by_item.items():
        choice.by_item[i] = _as_seats(rows, seats.db)


def _as_seats(rows, db: str) -> list[Seat]:
    """Seat instances of seats read as tuples, PICKED_FIELDS first: a hold
    uses only those."""
    return [Seat.from_db(db, PICKED_FIELDS, row[: len(PICKED_FIELDS)]) for row in rows]


def _seat_error(index: int, code: str, detail: str) -> dict:
    return {"field": f"items.{index}.seat_numbers", "code": code, "detail": detail}


def pick(cabin: FlightInventory, count: int, *, exclude: Iterable[int] = ()) -> list[Seat]:
    """`count` free seats of the cabin, side by side in one row when it can,
    else in as few rows as it can, from the first PICK_WINDOW free seats
    front to back (one seat: the first free one, read alone). Fewer than
    `count` when the cabin has no more.

    The caller holds the cabin's row lock, so the seats are read, not locked:
    locking the window wrote a tuple lock per seat read to use one of them.
    They are read as tuples, and only the picked ones become Seat instances."""
    free = FREE_SEATS.filter(inventory_id=cabin.pk)
    exclude = list(exclude)
    if exclude:
        free = free.exclude(pk__in=exclude)
    window = 1 if count == 1 else max(PICK_WINDOW, count)
    seats = list(free[:window])
    if len(seats) > count:
        rows: dict[int, list] = defaultdict(list)
        for seat in seats:
            rows[seat.row].append(seat)
        seats = side_by_side(rows, count) or fewest_rows(rows, count)
    return _as_seats(seats, free.db)


def side_by_side(rows: Mapping[int, list], count: int) -> list:
    """The first `count` adjacent free seats in one row (an aisle between two
    seats makes their columns two apart), front to back; [] if none."""
    for seats in rows.values():
        for start in range(len(seats) - count + 1):
            run = seats[start : start + count]
            if run[-1].column - run[0].column == count - 1:
                return run
    return []


def fewest_rows(rows: Mapping[int, list], count: int) -> list:
    """`count` seats from the rows with the most free seats (front first on a tie)."""
    picked: list = []
    for row in sorted(rows, key=lambda row: (-len(rows[row]), row)):
        picked += rows[row][: count - len(picked)]
        if len(picked) == count:
            break
    return picked


def assignments(choice: SeatChoice, lines: Sequence) -> list[SeatAssignment]:
    """The chosen seats' assignments, for the hold's statement to write with
    its booking (`statements.insert_held_booking`)."""
    return [
        SeatAssignment(item_position=lines[i].position, seat_id=seat.pk)
        for i, seats in choice.by_item.items()
        for seat in seats
    ]


def label(lines: Sequence, choice: SeatChoice) -> None:
    """Give the hold's flight items their seat numbers, for its answer and event."""
    for i, line in enumerate(lines):
        if isinstance(line, FlightItem):
            line.seat_numbers = sorted_numbers(choice.by_item.get(i, []))


def sorted_numbers(seats: Iterable[Seat]) -> list[str]:
    return [seat.number for seat in sorted(seats, key=lambda seat: (seat.row, seat.column))]


def seat_holders(bookings: Sequence[Booking]) -> list[int]:
    """The bookings leaving held or confirmed whose active seat assignments
    end with their status change (`statements.change_status`, in the same
    statement): those with a seat-mapped item, none when no cabin has a map.
    Their items show no seats from now on."""
    items = [item for booking in bookings for item in selectors.flight_items_of(booking)]
    for item in items:
        item.seat_numbers = []
    return list({item.booking_id for item in items if item.inventory.has_seat_map})


def take_again(booking: Booking) -> None:
    """Seats again for a locked booking whose hold ended (its seats were freed
    then) and that a late payment confirms: under its cabins' row locks (all
    of its cabins, in primary-key order, as the counter move that follows
    locks them), each seat-mapped item takes back its last seats if none of
    them is now held, booked or blocked, else as many seats picked as a hold
    picks them. InsufficientInventory, and nothing written, when a cabin has
    too few free seats: the caller's savepoint then moves nothing. No query
    for a booking with no seat-mapped item."""
    items = selectors.flight_items_of(booking)
    mapped = [item for item in items if item.inventory.has_seat_map]
    if not mapped:
        return
    lock_rows(FlightInventory, [item.inventory_id for item in items])
    chosen = _free_last_seats(booking, mapped)
    taken = {seat.pk for seats in chosen.values() for seat in seats}
    shortages = []
    for item in mapped:
        if item.position not in chosen:
            chosen[item.position] = pick(item.inventory, item.seats, exclude=taken)
            taken.update(seat.pk for seat in chosen[item.position])
        if len(chosen[item.position]) < item.seats:
            available = len(chosen[item.position])
            shortages.append(
                {"item": item.position, "requested": item.seats, "available": available}
            )
    if shortages:
        raise InsufficientInventory(shortages)
    for item in mapped:
        item.seat_numbers = sorted_numbers(chosen[item.position])
    SeatAssignment.objects.bulk_create(
        SeatAssignment(booking=booking, item_position=position, seat=seat)
        for position, seats in chosen.items()
        for seat in seats
    )


def _free_last_seats(booking: Booking, items: Sequence[FlightItem]) -> dict[int, list[Seat]]:
    """The seats each item last had, by position, for the items none of
    whose seats is held, booked or blocked now."""
    last = _last_seats(booking, items)
    return {
        item.position: last[item.position]
        for item in items
        if len(last[item.position]) == item.seats
        and not any(seat.blocked or seat.taken for seat in last[item.position])
    }


def _last_seats(booking: Booking, items: Sequence[FlightItem]) -> dict[int, list[Seat]]:
    """The seats each item last had (its `seats` newest assignments: a seat
    change or a repair only adds newer ones), each with `taken`: whether
    anyone holds or has booked it now. One query."""
    wanted = {item.position: item.seats for item in items}
    assignments = (
        SeatAssignment.objects.filter(booking=booking, item_position__in=wanted)
        .select_related("seat")
        .annotate(taken=active_seats_of("seat"))
        .order_by("-pk")
    )
    last: dict[int, list[Seat]] = defaultdict(list)
    for assignment in assignments:
        seats = last[assignment.item_position]
        if len(seats) < wanted[assignment.item_position]:
            assignment.seat.taken = assignment.taken
            seats.append(assignment.seat)
    return last


def block_seat(*, flight_id: int, cabin_class: str, number: str, blocked: bool) -> Seat:
    """Take a seat off sale or put it back, moving one seat between the
    cabin's `available` and `blocked` counters. The cabin's row is locked
    first, as a hold locks it, so a hold taking the seat and staff blocking it
    wait on each other and one wins. SeatUnavailable for a held or booked
    seat; Seat.DoesNotExist for a seat the cabin (or a cabin) lacks."""
    with transaction.atomic():
        cabin = FlightInventory.objects.select_for_update(no_key=True).get(
            flight_id=flight_id, cabin_class=cabin_class
        )
        seat = (
            Seat.objects.select_for_update(no_key=True, of=("self",))
            .annotate(taken=active_seats())
            .get(inventory=cabin, number=number)
        )
        if seat.blocked == blocked:
            return seat
        if seat.taken:
            raise SeatUnavailable([seat.number])
        step = 1 if blocked else -1
        Seat.objects.filter(pk=seat.pk).update(blocked=blocked)
        FlightInventory.objects.filter(pk=cabin.pk).update(
            available_seats=F("available_seats") - step, blocked_seats=F("blocked_seats") + step
        )
        search_cache.inventory_changed(FlightInventory, [cabin.pk])
        seat.blocked = blocked
    return seat
