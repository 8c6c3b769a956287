"""API tokens (django-rest-knox): the only places that issue and revoke them.

A token is shown once, when it is issued; the database keeps its SHA-512
digest, so a leaked database holds no working token."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS, knox_settings


def issue_token(user: AbstractBaseUser) -> str:
    """A new token for `user`, expiring after TOKEN_TTL_HOURS; the caller must
    hand it over now, since it cannot be read back."""
    _, token = AuthToken.objects.create(user=user)
    return token


def revoke_tokens(user: AbstractBaseUser) -> int:
    """Every token of `user` stops working; how many there were."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def issue_tokens(users: list[AbstractBaseUser]) -> list[str]:
    """One new token for each of `users` in one insert (seeding many
    customers at once), in the users' order."""
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    issued = [get_digest_token() for _ in users]
    AuthToken.objects.bulk_create(
        AuthToken(
            digest=digest, token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH], user=user, expiry=expiry
        )
        for user, (digest, token) in zip(users, issued, strict=True)
    )
    return [token for _, token in issued]
