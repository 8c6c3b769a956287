from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Customers' accounts: API tokens and what happens to them when a
    password changes. The auth endpoints are in config/api/auth.py."""

    name = "accounts"

    def ready(self):
        from accounts import receivers  # noqa: F401 (connects the signal receivers)
