"""A request id on every log line, and on the Celery tasks a request triggers.

The middleware takes the caller's `X-Request-ID` when it is short and plain
(a load balancer's or a client's), else makes one, answers with it in the
`X-Request-ID` header and keeps it in a context variable for the request's
duration. `RequestIdFilter` puts that variable on every log record. A task
published while it is set carries it in a message header; the worker sets the
variable from that header around the task, so the sweep a booking triggers
logs under the booking request's id.
"""

import contextvars
import logging
import re
import uuid

from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
_VALID = re.compile(r"[A-Za-z0-9._:;=+/@-]{1,128}\Z")

current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id_from(value: str | None) -> str:
    """The caller's id if it is 1 to 128 plain characters (nothing that could
    forge a log line), else a new one."""
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost middleware: everything the request logs carries the id, up to
    Django's own line about the answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished, dispatch_uid="request_id.finished")
def _clear_request_id(**kwargs):
    """Cleared when the server closes the answer, not when the middleware
    returns: Django logs 4xx/5xx answers (django.request) in between."""
    current.set(None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or "-") to every record a handler formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get() or "-"
        return True


# --- Celery: the id travels with the task --------------------------------------------

_task_tokens: dict[str, contextvars.Token] = {}


@signals.before_task_publish.connect(dispatch_uid="request_id.publish")
def _add_request_id_header(headers=None, **kwargs):
    request_id = current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


@signals.task_prerun.connect(dispatch_uid="request_id.prerun")
def _set_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    _task_tokens[task_id] = current.set(request_id if isinstance(request_id, str) else None)


@signals.task_postrun.connect(dispatch_uid="request_id.postrun")
def _reset_request_id(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        current.reset(token)
