"""Admin logins lock out (django-axes) by username and client address, the
address read by the same rule as the throttles, and staff see the lockouts
in the admin."""

import pytest
from django.test import Client

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def attempt(password: str, address: str = "198.51.100.20", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": address}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().post(
        LOGIN, {"username": "night-desk", "password": password, "next": "/admin/"}, **extra
    )


def test_wrong_passwords_lock_the_username_out_from_that_address(settings):
    StaffFactory(username="night-desk")
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        # Rotating X-Forwarded-For changes nothing: no proxy is trusted.
        assert attempt("wrong", forwarded=f"10.9.9.{n}").status_code == 200  # the form again
    assert attempt("wrong").status_code == 429
    # Locked: even the right password is refused now, from that address...
    assert attempt(PASSWORD).status_code == 429
    # ...but not from another one.
    assert attempt(PASSWORD, address="198.51.100.21").status_code == 302


def test_the_lockout_shows_in_the_admin(settings):
    StaffFactory(username="night-desk")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("wrong")
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "night-desk" in html and "198.51.100.20" in html
