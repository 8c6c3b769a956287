"""The dashboard's server-side bar charts: geometry from aggregated columns."""

from bookings.charts import BOTTOM, HEIGHT, TOP, Series, stacked_bars

SERIES = [Series("booked", "Booked", "booked"), Series("held", "Held", "held")]


def test_bars_stack_bottom_up_in_proportion():
    chart = stacked_bars(
        "t", [("a", {"booked": 6, "held": 4}), ("b", {"booked": 0, "held": 3})], SERIES
    )
    # The axis tops at 10: a full column is the whole plot height.
    plot = HEIGHT - TOP - BOTTOM
    a_booked, a_held, b_held = chart.bars
    assert float(a_booked.height) == round(plot * 0.6, 1)
    assert float(a_held.height) == round(plot * 0.4, 1)
    assert float(a_booked.y) == round(HEIGHT - BOTTOM - plot * 0.6, 1)
    assert float(a_held.y) == round(HEIGHT - BOTTOM - plot, 1)  # on top of booked
    assert b_held.css_class == "held" and b_held.title == "b: 3 held"
    assert float(b_held.x) > float(a_held.x)
    assert [label.text for label in chart.labels if label.anchor == "end"] == ["0", "5", "10"]


def test_axis_tops_at_a_round_number_with_a_whole_half():
    def top(value):
        chart = stacked_bars("t", [("x", {"booked": value})], SERIES)
        return [label.text for label in chart.labels if label.anchor == "end"][-1]

    assert [top(v) for v in (0, 3, 11, 34, 101, 120, 999)] == [
        "2",
        "4",
        "12",
        "40",
        "120",
        "120",
        "1000",
    ]


def test_only_every_nth_column_is_labelled():
    columns = [(f"d{i}", {"booked": 1}) for i in range(30)]
    chart = stacked_bars("t", columns, SERIES, label_every=5)
    assert [label.text for label in chart.labels if label.anchor == "middle"] == [
        "d0",
        "d5",
        "d10",
        "d15",
        "d20",
        "d25",
    ]
