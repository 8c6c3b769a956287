"""A base for the read-only answers built on every hot request."""

from operator import attrgetter

from rest_framework import serializers


# Represents an instance over its class's declared fields, as DRF's own loop
# does, but without DRF's deep copy of every field for each instance
# (profiled: most of the cost of a booking's or a payment's answer, which a
# hold, a cancel and a webhook each build twice: the answer and the event).
# Read-only: a method field's `get_<name>` is called, any other field
# represents its `source` (dotted paths allowed), None stays None.
# tests/bookings/test_serializers.py holds it to DRF's loop. (A comment, not
# a docstring: the schema would show it for every serializer built on it.)
class DeclaredFieldsSerializer(serializers.Serializer):
    def to_representation(self, instance):
        answer = {}
        for name, field in self._declared_fields.items():
            if isinstance(field, serializers.SerializerMethodField):
                answer[name] = getattr(self, field.method_name or f"get_{name}")(instance)
                continue
            value = attrgetter(field.source or name)(instance)
            answer[name] = None if value is None else field.to_representation(value)
        return answer
