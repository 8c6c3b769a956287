"""Data at scale for the growth curves (README, "Scale"): a year of flights and
hotel nights and a long booking history, loaded with COPY in minutes and
vacuumed (`scale_seed.settle`: the first reads then find it as a running
service's, not a fresh load's). The loader is bookings/scale_seed.py."""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from bookings import scale_seed
from bookings.scale_seed import ScaleDataError, Sizes

FULL = Sizes()


class Command(BaseCommand):
    help = (
        "Load a year of inventory and past bookings at scale (default: 1,000 routes x 365 "
        "days, 2,000 hotels x 4 room types x 365 nights, 1 M bookings), counters consistent "
        "with the bookings. --fraction scales every count; explicit counts override it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fraction", type=float, default=1.0, help="scale every default count (e.g. 0.01)"
        )
        for name in ("routes", "days", "hotels", "room_types", "customers", "bookings"):
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                type=int,
                default=None,
                help=f"default {getattr(FULL, name):,}",
            )
        parser.add_argument(
            "--overdue-holds",
            type=int,
            default=0,
            help="held bookings whose hold time has passed, for the expiry sweep (default 0)",
        )
        parser.add_argument(
            "--reset", action="store_true", help="delete the scale data already loaded first"
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the result as JSON"
        )

    def handle(self, *args, fraction, reset=False, as_json=False, **options):
        if fraction <= 0:
            raise CommandError("--fraction must be above 0")
        sizes = Sizes(**_explicit(Sizes().scaled(fraction), options))
        started = time.monotonic()
        if reset:
            self._say(as_json, f"reset: {reset_counts(scale_seed.reset())}")
        try:
            result = scale_seed.load(sizes, log=lambda message: self._say(as_json, message))
        except ScaleDataError as error:
            raise CommandError(str(error)) from error
        result["seconds"] = round(time.monotonic() - started, 1)
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded {result['counts']} in {result['seconds']} s, of which "
                    f"{result['settled']['seconds']} s {result['settled']['statement']}."
                )
            )

    def _say(self, quiet: bool, message: str) -> None:
        if not quiet:
            self.stdout.write(message)


def _explicit(sizes: Sizes, options: dict) -> dict:
    chosen = {name: getattr(sizes, name) for name in Sizes.__dataclass_fields__}
    chosen.update(
        {name: value for name, value in options.items() if name in chosen and value is not None}
    )
    if any(value < 0 for value in chosen.values()) or chosen["days"] < 1:
        raise CommandError("counts must be at least 0, and --days at least 1")
    return chosen


def reset_counts(deleted: dict) -> str:
    return ", ".join(f"{table} {count:,}" for table, count in deleted.items() if count)
