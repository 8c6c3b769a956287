"""The side-by-side variants' helpers (loadtest/side_by_side.py,
loadtest/seed.py): the data file wrk's cycle.lua reads, the request costs
read from gunicorn's log, and the payable holds the webhook pool confirms.
No stack and no wrk: a variant's run is `make bench WORKLOAD=side-by-side
VARIANT=...`."""

import json
import re

import pytest
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from bookings.models import Booking
from loadtest import seed, side_by_side
from payments.models import Payment
from tests.faults.stack import sandbox_success
from tests.invariants import assert_inventory_consistent

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LONG_STRING = re.compile(r"\[(=*)\[(.*?)\]\1\]", re.S)


def lua_strings(text: str) -> list[str]:
    """The long strings of a Lua text, in order, as Lua reads them."""
    return [body for _, body in LONG_STRING.findall(text)]


@pytest.mark.parametrize("text", ['{"a":"b"}', "x]]y", "x]]y]=]z", ""])
def test_a_lua_long_string_holds_any_text(text):
    assert lua_strings(side_by_side.lua_string(text)) == [text]


def test_the_signed_pool_is_what_cycle_lua_sends_and_it_verifies(tmp_path):
    payments = [{"id": f"pay_{n}", "amount": "100.00", "currency": "EUR"} for n in range(3)]
    hooks = [sandbox_success(payment, secret=SECRET) for payment in payments]
    path = side_by_side.data_lua(tmp_path / "data.lua", 7, ["t1", "t2"], hooks=hooks)

    text = path.read_text()
    assert text.startswith('flight_id = 7\ntokens = {"t1","t2"}\n')
    values = lua_strings(text)
    assert len(values) == 12
    webhook = Webhook(SECRET)
    for n in range(3):
        # cycle.lua: h[1] webhook-id, h[2] webhook-timestamp, h[3] webhook-signature, h[4] body
        webhook_id, timestamp, signature, body = values[4 * n : 4 * n + 4]
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature,
        }
        assert webhook.verify(body, headers)["data"]["payment_id"] == f"pay_{n}"


def test_the_seat_map_is_written_for_chosen_seats(tmp_path):
    seat_map = {"rows": 5000, "first_row": 1, "columns": "ABC DEF"}
    text = side_by_side.data_lua(tmp_path / "d.lua", 3, ["t"], seat_map=seat_map).read_text()
    assert 'seat_rows = 5000\nseat_first_row = 1\nseat_letters = "ABCDEF"\n' in text


def access_line(request: str, status: int, ms: int) -> str:
    """gunicorn's access line (config/gunicorn.py) as the JSON log writes it."""
    message = f'127.0.0.1 "{request} HTTP/1.1" {status} 812 {ms}ms request_id=abc'
    return json.dumps({"message": message, "logger": "gunicorn.access"})


def test_request_costs_are_each_kinds_mean_worker_time_relative_to_the_hold():
    log = "\n".join(
        [
            access_line("POST /api/v1/bookings/", 201, 40),
            access_line("POST /api/v1/bookings/", 201, 60),
            access_line("POST /api/v1/bookings/AB12CD/payments/", 201, 45),
            access_line("POST /api/v1/bookings/AB12CD/cancel/", 200, 25),
            access_line("POST /api/v1/payments/webhooks/sandbox/", 200, 75),
            json.dumps({"message": "a line that is no request"}),
        ]
    )
    costs = side_by_side.request_costs(log)
    assert list(costs)[0] == "hold"
    assert costs["hold"] == {"count": 2, "mean_ms": 50.0, "vs_hold": 1.0}
    assert costs["pay"]["vs_hold"] == 0.9
    assert costs["cancel"]["vs_hold"] == 0.5
    assert costs["webhook"]["vs_hold"] == 1.5


def test_cycle_lua_counts_are_read_besides_holdcancel_luas():
    output = (
        "  10 requests in 2.00s, 1.00KB read\n"
        "holds=10 cancels=9 bad=0 payments=9 webhooks=0 taken=2 seat_next=40\n"
    )
    run = side_by_side.parse_wrk("project", output)
    assert (run.holds, run.cancels, run.bad) == (10, 9, 0)
    assert run.extra["counts"] == {"payments": 9, "webhooks": 0, "taken": 2, "seat_next": 40}
    assert "9 payments, 2 taken" in run.line()


def test_a_variant_runs_the_floors_own_script_when_it_does_what_the_floor_does():
    scripts = {name: v.script.name for name, v in side_by_side.VARIANTS.items()}
    assert scripts == {
        "plain": "holdcancel.lua",
        "payments": "cycle.lua",
        "webhooks": "cycle.lua",
        "seats-auto": "holdcancel.lua",
        "seats-chosen": "cycle.lua",
        "events": "holdcancel.lua",
    }


@pytest.mark.django_db
def test_payable_holds_are_confirmed_by_their_signed_webhooks(client, customer):
    payments = seed.payable_holds(count=2, customers=[customer.pk])

    assert Payment.objects.filter(status="pending", provider="sandbox").count() == 2
    for payment in payments:
        body, headers = sandbox_success(payment, secret=settings.PAYMENT_WEBHOOK_SECRET)
        answer = client.generic(
            "POST",
            "/api/v1/payments/webhooks/sandbox/",
            body,
            content_type="application/json",
            headers={k: v for k, v in headers.items() if k != "content-type"},
        )
        assert answer.status_code == 200, answer.content
    assert set(Booking.objects.values_list("status", flat=True)) == {"confirmed"}
    assert_inventory_consistent()


@pytest.mark.django_db
def test_seeded_holds_draw_references_none_taken_and_none_twice(customer, monkeypatch):
    first = seed.overdue_holds(count=1, customers=[customer.pk])
    taken = Booking.objects.get(pk=first["ids"][0]).reference
    draws = iter([taken, "BBBBBB", "BBBBBB", "CCCCCC"])
    monkeypatch.setattr("bookings.models.new_reference", lambda: next(draws))

    made = seed.overdue_holds(count=2, customers=[customer.pk])

    first_id, last_id = made["ids"]
    references = Booking.objects.filter(pk__range=(first_id, last_id)).values_list(
        "reference", flat=True
    )
    assert sorted(references) == ["BBBBBB", "CCCCCC"]
    assert_inventory_consistent()
