"""Mail about an account, sent by a worker: a registration answers as fast
whether or not the address belongs to someone, and SMTP never delays it."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

ATTEMPT_SUBJECT = "Someone tried to register with your email address"
ATTEMPT_BODY = """Hello {username},

someone just tried to open a new account with this email address, which already
belongs to your account. Nothing was changed.

If it was you, sign in with your username instead ("{username}"). If it was
not, you can ignore this message: your account and its password are as they were.
"""


@shared_task(ignore_result=True)
def tell_owner_of_registration_attempt(user_id: int) -> None:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    send_mail(
        ATTEMPT_SUBJECT,
        ATTEMPT_BODY.format(username=user.get_username()),
        None,
        [user.email],
    )
