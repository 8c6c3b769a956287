"""How API callers prove who they are (settings: DEFAULT_AUTHENTICATION_CLASSES).
Kept apart from the auth views: DRF imports it while it loads its views."""

from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from config import sql

User = get_user_model()


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, with the key looked up by one raw
    query. Every API request runs it, and the ORM's building of the
    token-and-user query was a tenth of a hold's CPU when profiled."""

    def authenticate_credentials(self, key):
        found = sql.load(
            User,
            f"FROM {User._meta.db_table} AS account"
            f" JOIN {Token._meta.db_table} AS token ON token.user_id = account.id"
            " WHERE token.key = %s",
            [key],
            alias="account",
        )
        if not found:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, Token(key=key, user=user)
