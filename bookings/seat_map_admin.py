"""The back office's seat map of a cabin: a grid coloured by status, the
holding booking's reference on hover, and a click that blocks or unblocks a
seat through `bookings.services.seats.block_seat`, the API's own service.
Served by the admin site (config/admin_site.py), with its login and look."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from bookings import selectors
from bookings.exceptions import SeatUnavailable
from bookings.services.seats import block_seat
from flights.models import (
    CHANGE_CABIN_PERMISSIONS,
    VIEW_CABIN_COUNTERS_PERMISSION,
    FlightInventory,
    Seat,
)


class SeatClickForm(forms.Form):
    """Which seat was clicked, and whether to block or unblock it."""

    block = forms.CharField(required=False, max_length=8)
    unblock = forms.CharField(required=False, max_length=8)

    def clean(self):
        data = super().clean()
        if bool(data.get("block")) == bool(data.get("unblock")):
            raise forms.ValidationError("Click one seat.")
        return data


def seat_map_view(site, request, cabin_id: int):
    """GET: the grid. POST: block or unblock the clicked seat, then the grid again."""
    if not request.user.has_perm(VIEW_CABIN_COUNTERS_PERMISSION):
        raise PermissionDenied
    cabins = FlightInventory.objects.select_related("flight").exclude(seat_columns="")
    cabin = get_object_or_404(cabins, pk=cabin_id)
    may_block = request.user.has_perms(CHANGE_CABIN_PERMISSIONS)
    if request.method == "POST":
        if not may_block:
            raise PermissionDenied
        _click(request, cabin, SeatClickForm(request.POST))
        return HttpResponseRedirect(request.path)
    cabin.refresh_from_db()
    context = {
        **site.each_context(request),
        "title": f"Seat map: {cabin}",
        "cabin": cabin,
        "rows": grid(selectors.seat_map(cabin, staff=True)),
        "may_block": may_block,
    }
    return TemplateResponse(request, "admin/flights/seat_map.html", context)


def _click(request, cabin: FlightInventory, form: SeatClickForm) -> None:
    if not form.is_valid():
        messages.error(request, "Click one seat.")
        return
    blocked = bool(form.cleaned_data["block"])
    number = form.cleaned_data["block"] or form.cleaned_data["unblock"]
    try:
        block_seat(
            flight_id=cabin.flight_id,
            cabin_class=cabin.cabin_class,
            number=number,
            blocked=blocked,
        )
    except SeatUnavailable:
        messages.error(request, f"Seat {number} is held or booked: it cannot be blocked.")
    except Seat.DoesNotExist:
        messages.error(request, f"This cabin has no seat {number}.")
    else:
        done = "blocked: it is off sale" if blocked else "unblocked: it is on sale again"
        messages.success(request, f"Seat {number} {done}.")


def grid(seat_map: dict) -> list[dict]:
    """Rows of cells in the layout's order, None where an aisle runs."""
    rows = []
    for row in seat_map["rows"]:
        by_letter = {seat["number"].removeprefix(str(row["row"])): seat for seat in row["seats"]}
        cells = [None if letter == " " else by_letter[letter] for letter in seat_map["columns"]]
        rows.append({"row": row["row"], "cells": cells})
    return rows
