"""Who may call what: reads are public, inventory changes are for staff
(`is_staff`). Anonymous callers get 401 (with `WWW-Authenticate: Token`),
authenticated customers 403."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


def _method_not_served(request, view) -> bool:
    # Let a method the view does not implement fall through to its 405, so a
    # wrong method answers the same for everyone instead of 401/403 first.
    method = request.method.lower()
    return method not in view.http_method_names or not hasattr(view, method)


def _is_staff(request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_staff)


class IsStaff(BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return _method_not_served(request, view) or _is_staff(request)


class IsStaffOrReadOnly(BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return (
            request.method in SAFE_METHODS
            or _method_not_served(request, view)
            or _is_staff(request)
        )


def is_staff_request(request) -> bool:
    return request is not None and _is_staff(request)
