from django.core.management.base import BaseCommand
from django.utils import timezone
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Delete the API tokens that have expired (they are refused already)."

    def handle(self, *args, **options):
        deleted, _ = AuthToken.objects.filter(expiry__lte=timezone.now()).delete()
        self.stdout.write(f"deleted {deleted} expired tokens")
