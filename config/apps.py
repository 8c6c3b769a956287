from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """The Django admin with the back office's site (the operations dashboard)."""

    default_site = "config.admin_site.BackOfficeSite"
