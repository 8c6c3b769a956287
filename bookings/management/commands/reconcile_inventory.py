import sys

from django.core.management.base import BaseCommand

from bookings.reconciliation import reconcile


class Command(BaseCommand):
    help = (
        "Compare every seat and room counter with the bookings' items. Lists the drift and "
        "exits 1 if there is any; --fix repairs it under the services' row locks (exit 0 "
        "when everything was repaired)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="set the counters to what the bookings hold"
        )

    def handle(self, *args, fix=False, **options):
        result = reconcile(fix=fix)
        self._report_seats(result, fix)
        checked = f"{result.cabins_checked} cabins and {result.nights_checked} room nights"
        if not result.drift:
            if not result.clean:
                sys.exit(1)
            self.stdout.write(self.style.SUCCESS(f"No drift: {checked} match their bookings."))
            return
        self.stdout.write(self.style.ERROR(f"Drift in {len(result.drift)} of {checked}:"))
        fixed = {(d.kind, d.pk) for d in result.fixed}
        unfixable = {(d.kind, d.pk) for d in result.unfixable}
        settled = {(d.kind, d.pk) for d in result.settled}
        for drift in result.drift:
            key = (drift.kind, drift.pk)
            if key in fixed:
                note = self.style.SUCCESS("  [fixed]")
            elif key in unfixable:
                note = self.style.ERROR(
                    "  [NOT FIXED: the bookings need more than the total; fix them by hand]"
                )
            elif key in settled:
                note = "  [consistent again when locked; left alone]"
            else:
                note = ""
            self.stdout.write(f"  {drift.describe()}{note}")
        if not fix:
            self.stdout.write("Run with --fix to set the counters to what the bookings hold.")
        if not result.clean:
            sys.exit(1)

    def _report_seats(self, result, fix: bool) -> None:
        left = {drift.pk for drift in result.seat_drift_left}
        for drift in result.seat_drift:
            if not fix:
                note = ""
            elif drift.pk in left:
                note = self.style.ERROR("  [NOT FIXED: look at the cabin's seats by hand]")
            else:
                note = self.style.SUCCESS("  [fixed]")
            self.stdout.write(f"  {drift.describe()}{note}")
