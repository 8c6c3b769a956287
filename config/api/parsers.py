"""The API's one body parser (settings: DEFAULT_PARSER_CLASSES): DRF's
JSONParser with a nesting limit.

`json` recurses once per nesting level: a body of 100,000 `[` ran it out of
stack (a 500 RecursionError), and a body just under the interpreter's limit
would make every later recursive walk (validation, error flattening, the
idempotency fingerprint) a hazard. More than API_MAX_JSON_DEPTH levels is a
400 `validation_error` with code `too_deep`.

The size limit is Django's DATA_UPLOAD_MAX_MEMORY_SIZE: DRF reads a JSON body
through `request.body`, which enforces it (config/api/errors.py answers 413).
"""

from django.conf import settings
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if _deeper_than(data, settings.API_MAX_JSON_DEPTH):
            raise _too_deep()
        return data


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(
        f"The JSON is nested more than {settings.API_MAX_JSON_DEPTH} levels deep.",
        code="too_deep",
    )


def _deeper_than(data, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels; walked with a
    stack of its own, so the walk cannot exhaust Python's."""
    pending = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
