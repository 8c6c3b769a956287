"""Who may call what: reads are public; a staff write needs `is_staff` and the
Django model permissions the admin checks for the same change, so each staff
group can do through the API exactly what it can in the back office.
Anonymous callers get 401 (with `WWW-Authenticate: Token`), everyone else
without the permissions 403."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


def _method_not_served(request, view) -> bool:
    # Let a method the view does not implement fall through to its 405, so a
    # wrong method answers the same for everyone instead of 401/403 first.
    method = request.method.lower()
    return method not in view.http_method_names or not hasattr(view, method)


def staff_may(request, *permissions: str) -> bool:
    """A staff user holding every one of `permissions` (`app.codename`), as
    the admin requires `is_staff` and then the model permissions."""
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff and user.has_perms(permissions))


class StaffPermissions(BasePermission):
    """The view's writes need the model permissions it names in
    `staff_permissions`: the ones the admin checks for the same change."""

    message = "You do not have permission to do this."

    def has_permission(self, request, view) -> bool:
        return _method_not_served(request, view) or staff_may(request, *view.staff_permissions)


class StaffPermissionsOrReadOnly(StaffPermissions):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)


class StaffModelPermissions(StaffPermissions):
    """Staff holding the model permission the admin asks for the same thing:
    `view_` to read, `add_`/`change_`/`delete_` to write, on the view's model."""

    actions = {
        "GET": "view",
        "HEAD": "view",
        "OPTIONS": "view",
        "POST": "add",
        "PUT": "change",
        "PATCH": "change",
        "DELETE": "delete",
    }

    def has_permission(self, request, view) -> bool:
        meta = view.permission_model._meta
        action = self.actions.get(request.method, "change")
        return _method_not_served(request, view) or staff_may(
            request, f"{meta.app_label}.{action}_{meta.model_name}"
        )
