"""django-axes's lockout backend for admin logins."""

from axes.backends import AxesStandaloneBackend


class AdminLoginLockout(AxesStandaloneBackend):
    """Axes refuses `authenticate()` calls without a request; those come from
    code (management commands, the test client's `login`), not from a client
    at a login form, so there is nothing to lock out: the next backend decides."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
