"""Search query strings, validated once per process and query string.

A query's validation is a pure function of its query string (no database,
no clock, no user), and a cached search's query comes again and again. DRF
builds each serializer by deep-copying its declared fields: validating the
query was a sixth of a cache hit's Python. Invalid queries are not kept; they
raise DRF's ValidationError (a 400) each time, as before."""

from collections.abc import Mapping
from types import MappingProxyType

from rest_framework import serializers

# Bounded: a caller drawing new query strings only empties it more often.
MAX_QUERIES = 2048
_validated: dict[tuple[type, str], Mapping] = {}


def validated_query(serializer_class: type[serializers.Serializer], request) -> Mapping:
    """The serializer's validated data for this request's query string, read
    only (it is shared by every request with the same query string)."""
    key = (serializer_class, request.META.get("QUERY_STRING", ""))
    data = _validated.get(key)
    if data is None:
        query = serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = MappingProxyType(dict(query.validated_data))
        if len(_validated) >= MAX_QUERIES:
            _validated.clear()
        _validated[key] = data
    return data
