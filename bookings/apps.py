from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self):
        from bookings.notifications import booking_letter
        from events.emails import register_reader

        register_reader(booking_letter)
