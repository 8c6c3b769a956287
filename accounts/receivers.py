"""A password change revokes every API token of the account: whoever had a
token because they knew the old password loses it with the password."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.tokens import revoke_tokens


@receiver(post_save, sender=get_user_model(), dispatch_uid="revoke-tokens-on-password-change")
def revoke_tokens_when_the_password_changes(sender, instance, created, **kwargs):
    # `set_password` keeps the new raw password in `_password` until save()
    # has stored it (Django itself uses it so, to notify password validators):
    # a save that follows a `set_password` is a password change, whichever
    # path made it (admin, `changepassword`, a password reset).
    if not created and getattr(instance, "_password", None) is not None:
        revoke_tokens(instance)
