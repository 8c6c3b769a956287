"""How API callers prove who they are (settings: DEFAULT_AUTHENTICATION_CLASSES).
Kept apart from the auth views: DRF imports it while it loads its views."""

import binascii
from hmac import compare_digest

from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's `Authorization: Token <token>`, checked with one indexed query
    and no write. Every API request runs it: knox's own check also reads all
    the user's other tokens to delete the expired ones (a second query, and
    writes), which the hold path cannot afford. Expired tokens are refused
    here and left for `manage.py prune_tokens`."""

    def authenticate_credentials(self, token: bytes):
        try:
            token = token.decode()
            digest = hash_token(token)
        except (UnicodeDecodeError, TypeError, binascii.Error) as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        candidates = AuthToken.objects.select_related("user").filter(
            token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]
        )
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
                    raise exceptions.AuthenticationFailed(
                        "This token has expired; ask for a new one."
                    )
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")
