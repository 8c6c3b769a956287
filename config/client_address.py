"""The one rule for "which address is this client": DRF's, through its
NUM_PROXIES setting (TRUSTED_PROXY_COUNT in the environment).

With 0 proxies the address is the connection's (REMOTE_ADDR) and whatever the
client writes in X-Forwarded-For is ignored, so rotating that header cannot
dodge a rate limit or a lockout. Behind N trusted proxies it is the N-th
address from the right of X-Forwarded-For: the one the outermost trusted
proxy saw, which the client cannot forge. The throttles use this rule
directly; django-axes (AXES_CLIENT_IP_CALLABLE) and the refusal audit call it.
"""

from rest_framework.throttling import BaseThrottle

_RULE = BaseThrottle()


def client_address(request) -> str:
    """The client's address as the throttles see it (a Django or DRF request)."""
    return _RULE.get_ident(request)
