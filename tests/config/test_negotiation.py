"""JSONFallbackNegotiation answers a client that accepts anything without
parsing its header: these hold that shortcut to DRF's own choice, with the
production renderer and with the browsable API development adds."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.api.negotiation import JSONFallbackNegotiation

RENDERER_SETS = [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()]]


def request_with(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get("/api/v1/flights/" + query, **headers))


@pytest.mark.parametrize("renderers", RENDERER_SETS)
@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/json; indent=2", "*/*;q=0.8"]
)
def test_what_drf_would_choose(renderers, accept):
    chosen = JSONFallbackNegotiation().select_renderer(request_with(accept), renderers)
    drf = DefaultContentNegotiation().select_renderer(request_with(accept), renderers)
    assert (type(chosen[0]), chosen[1]) == (type(drf[0]), drf[1])
    assert chosen[1].startswith("application/json")


def test_a_format_asked_for_is_still_drfs_to_choose():
    renderers = RENDERER_SETS[1]
    chosen, media_type = JSONFallbackNegotiation().select_renderer(
        request_with("*/*", "?format=api"), renderers
    )
    assert isinstance(chosen, BrowsableAPIRenderer) and media_type == "text/html"


def test_a_browser_still_gets_json_with_the_json_renderer_alone():
    chosen, media_type = JSONFallbackNegotiation().select_renderer(
        request_with("text/html"), RENDERER_SETS[0]
    )
    assert isinstance(chosen, JSONRenderer) and media_type == "application/json"
