"""Opening an account, without telling anyone which usernames and email
addresses are taken (README, Observability and security)."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from accounts.tasks import tell_owner_of_registration_attempt
from accounts.tokens import issue_token

logger = logging.getLogger(__name__)
User = get_user_model()


class RegistrationRefused(Exception):
    """The username or the email belongs to an account; deliberately not which."""


def register_customer(*, username: str, email: str, password: str) -> tuple[AbstractBaseUser, str]:
    """A new customer account and its first API token. A taken username or
    email (either, in any case) is refused alike; when the email is an
    account's, its owner is told by mail that someone tried."""
    owner = User.objects.filter(email__iexact=email).first()
    if owner is not None:
        _tell_owner(owner)
    if owner is not None or User.objects.filter(username__iexact=username).exists():
        raise RegistrationRefused
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            return user, issue_token(user)
    except IntegrityError as exc:  # a concurrent registration took the username
        raise RegistrationRefused from exc


def _tell_owner(owner: AbstractBaseUser) -> None:
    # The answer must not depend on it: a broker outage only loses the mail.
    try:
        tell_owner_of_registration_attempt.delay(owner.pk)
    except OperationalError as exc:
        logger.warning("could not queue the registration attempt mail: %r", exc)
