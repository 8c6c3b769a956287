from django.core.management.base import BaseCommand

from bookings.services import expire_overdue_holds


class Command(BaseCommand):
    help = (
        "Run one expiry sweep now: expire every overdue hold and put its seats and rooms "
        "back on sale. The same code the periodic task runs every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="bookings per transaction")

    def handle(self, *args, batch_size=None, **options):
        expired = expire_overdue_holds(batch_size=batch_size)
        self.stdout.write(f"Expired {expired} overdue hold{'' if expired == 1 else 's'}.")
