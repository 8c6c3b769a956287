"""Strict JSON types: docs/api.md says numbers are JSON integers and text is JSON
strings, so `"2"` for a count or `7` for a name is a 400, not a coercion."""

import re
from contextlib import suppress
from datetime import date

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "A JSON string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """Money as a decimal string (`"129.00"`) or a JSON number; never a bool."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    default_error_messages = {"invalid": "A date as a JSON string YYYY-MM-DD is required."}

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


_PLAIN_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class QueryDateField(serializers.DateField):
    """A date of a query string, YYYY-MM-DD: DRF's DateField with that one
    format, whose plain form is read by `date.fromisoformat`. DRF's
    `strptime` looks the locale up at each call: a fifth of a cached
    search's validation. Anything else (`2026-1-5`, a wrong date) goes to
    DRF as before, with its answers and its errors."""

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and _PLAIN_DAY.match(value):
            with suppress(ValueError):
                return date.fromisoformat(value)
        return super().to_internal_value(value)


class StrictDateTimeField(serializers.DateTimeField):
    """An ISO 8601 JSON string; a naive time is read as UTC (the API's zone)."""

    default_error_messages = {"invalid": "An ISO 8601 date-time as a JSON string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """A write body with a field the endpoint does not know is a 400 on that
    field, instead of silently ignoring what the caller thought it changed."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: [serializers.ErrorDetail("This field is not known.", "unknown_field")]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)
