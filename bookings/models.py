import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from flights.models import FlightInventory, Seat
from hotels.models import RoomType

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# Room and seat prices are at most 99,999,999.99 (10 digits). A hotel line can
# reach 30 nights x 9 rooms of that, and a booking 10 such lines:
# 269,999,999,973.00, 14 digits. Sized so no accepted hold overflows a column.
MONEY_DIGITS = 14
REFERENCE_LENGTH = 6
# Staff may release or cancel others' bookings with it (admin and API alike);
# seeing every booking takes the view permission.
CANCEL_PERMISSION = "bookings.cancel_booking"
VIEW_PERMISSION = "bookings.view_booking"


def new_reference() -> str:
    """Six characters drawn by a CSPRNG from 32 symbols: about a billion codes,
    so probing references finds nothing (and the lookup is owner-scoped anyway)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class BookingStatus(models.TextChoices):
    HELD = "held", "Held"
    CONFIRMED = "confirmed", "Confirmed"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class Booking(models.Model):
    """A temporary hold on inventory and what it becomes (docs/api.md, Bookings)."""

    reference = models.CharField(max_length=REFERENCE_LENGTH, unique=True, default=new_reference)
    # No index of its own: the indexes that lead with the customer serve every
    # lookup by customer, and each index is one more write per hold and cancel.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings", db_index=False
    )
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.HELD
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(max_length=100, null=True, blank=True)
    total_price = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    extension_count = models.PositiveSmallIntegerField(default=0)
    # Set by the cancel of a confirmed booking (REFUND_POLICY, or staff's
    # amount); `payments` pays it back. Database defaults: the hold's insert
    # is hand-written and leaves them out.
    refunded_amount = models.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=2,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
    )
    cancel_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # The answer the creating request got, replayed for a repeated Idempotency-Key.
    idempotent_response = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("cancel_booking", "Can release or cancel bookings for customers")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="idempotency_key_unique_per_customer",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="booking_expires_after_creation"
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(payment_reference__isnull=False),
                name="confirmed_booking_has_payment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(status="held"), name="booking_held_expiry"
            ),
            models.Index(fields=["customer", "status"], name="booking_customer_status"),
            # A customer's list, newest first, read a page at a time without a sort.
            models.Index(fields=["customer", "-created_at", "-id"], name="booking_customer_recent"),
            models.Index(fields=["status", "created_at"], name="booking_status_created"),
            # The dashboard's last-24-hours figures read a time range over every status.
            models.Index(fields=["created_at"], name="booking_created"),
        ]

    def __str__(self) -> str:
        return self.reference

    def is_overdue(self, now=None) -> bool:
        """A held booking whose hold time has passed: it is expired, whether or
        not the sweep has recorded it yet."""
        return self.status == BookingStatus.HELD and self.expires_at <= (now or timezone.now())

    @property
    def effective_status(self) -> str:
        return BookingStatus.EXPIRED if self.is_overdue() else self.status


class FlightItem(models.Model):
    """Seats of one cabin in a booking; the price is fixed at hold time."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="flight_items")
    position = models.PositiveSmallIntegerField()
    inventory = models.ForeignKey(
        FlightInventory, on_delete=models.PROTECT, related_name="booking_items"
    )
    seats = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    line_total = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)

    class Meta:
        ordering = ["booking_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="flight_item_has_seats"),
        ]

    def __str__(self) -> str:
        return f"{self.seats} × {self.inventory}"


class HotelItem(models.Model):
    """Rooms of one room type for a stay `[check_in, check_out)` in a booking;
    `unit_price` is the whole stay for one room, fixed at hold time."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="hotel_items")
    position = models.PositiveSmallIntegerField()
    room_type = models.ForeignKey(RoomType, on_delete=models.PROTECT, related_name="booking_items")
    check_in = models.DateField()
    check_out = models.DateField()
    rooms = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)

    class Meta:
        ordering = ["booking_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(rooms__gte=1), name="hotel_item_has_rooms"),
            models.CheckConstraint(
                condition=Q(check_out__gt=F("check_in")), name="hotel_item_stay_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["room_type", "check_in"], name="hotel_item_stay")]

    def __str__(self) -> str:
        return f"{self.rooms} × {self.room_type} {self.check_in}–{self.check_out}"


class SeatAssignment(models.Model):
    """A seat of a flight item (the booking's item at `item_position`). Active
    while the booking is held or confirmed; a release, expiry or cancel ends
    it in the same transaction as the counters, and the row stays as history.
    PostgreSQL enforces that a seat has at most one active assignment."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="seat_assignments")
    item_position = models.PositiveSmallIntegerField()
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="assignments")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["booking_id", "item_position", "seat_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"], condition=Q(active=True), name="one_active_assignment_per_seat"
            ),
        ]
        indexes = [
            models.Index(
                fields=["booking", "item_position"],
                condition=Q(active=True),
                name="seat_assignment_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.seat_id}"


class Actor(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System (sweep)"


class BookingStatusChange(models.Model):
    """One row per transition: what changed, when, and who or what did it."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=10, choices=BookingStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=BookingStatus.choices)
    actor_kind = models.CharField(max_length=10, choices=Actor.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["booking_id", "at", "id"]
        indexes = [models.Index(fields=["to_status", "at"], name="status_change_to_at")]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.from_status or '∅'} → {self.to_status}"


class RunOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class SweepRun(models.Model):
    """One run of the expiry sweep: when it ran and what it did, for the staff
    dashboard. A run still `running` long after it started died mid-way (its
    finished batches stay expired; the next run does the rest). Old rows are
    pruned by the sweep itself."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=RunOutcome.choices, default=RunOutcome.RUNNING
    )
    expired = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return (
            f"sweep at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}, {self.expired} expired"
        )


class ReconciliationRun(models.Model):
    """One run of `reconcile_inventory`: how many counters it checked, which
    drifted (the first few, as data) and what `--fix` did about them."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=RunOutcome.choices, default=RunOutcome.RUNNING
    )
    fix = models.BooleanField(default=False)
    cabins_checked = models.PositiveIntegerField(default=0)
    nights_checked = models.PositiveIntegerField(default=0)
    drift_count = models.PositiveIntegerField(default=0)
    fixed_count = models.PositiveIntegerField(default=0)
    unfixable_count = models.PositiveIntegerField(default=0)
    drift = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"reconciliation at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.drift_count} drifted"
