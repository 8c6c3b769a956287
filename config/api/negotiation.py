"""Every body is JSON (docs/api.md). With only the JSON renderer (production and
tests), DRF would answer a client that asks for nothing but `text/html` (a
browser) with 406 before looking at its request; this answers JSON instead,
with the status the request itself earns (its 404, 403, or 200)."""

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class JSONFallbackNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
