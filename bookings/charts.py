"""Bar charts for the staff dashboard, laid out on the server and drawn by the
template as inline SVG: no JavaScript, no CDN. The input is already
aggregated (a few dozen columns), never rows of the database."""

from collections.abc import Sequence
from dataclasses import dataclass
from math import log10


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css_class: str


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    css_class: str
    title: str


@dataclass(frozen=True)
class Label:
    x: str
    y: str
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    gridlines: list[str]  # y of each horizontal line
    plot_left: int
    plot_right: int
    legend: list[Series]


WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 26


def stacked_bars(
    title: str,
    columns: Sequence[tuple[str, dict[str, int]]],
    series: Sequence[Series],
    *,
    label_every: int = 1,
    unit: str = "",
) -> Chart:
    """One bar per column, its series stacked bottom-up in `series` order.
    `columns` are (label, {series key: value})."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    top = _nice_ceiling(max((sum(values.values()) for _, values in columns), default=0))
    slot = plot_width / max(len(columns), 1)
    bar_width = slot * 0.72
    scale = plot_height / top
    bars, labels = [], []
    for i, (label, values) in enumerate(columns):
        x = LEFT + i * slot + (slot - bar_width) / 2
        base = HEIGHT - BOTTOM
        for s in series:
            value = values.get(s.key, 0)
            if value <= 0:
                continue
            height = value * scale
            base -= height
            bars.append(
                Bar(
                    x=_n(x),
                    y=_n(base),
                    width=_n(bar_width),
                    height=_n(height),
                    css_class=s.css_class,
                    title=f"{label}: {value} {s.label.lower()}{unit}",
                )
            )
        if i % label_every == 0:
            labels.append(Label(x=_n(x + bar_width / 2), y=_n(HEIGHT - 8), text=label))
    gridlines = []
    for fraction in (0, 0.5, 1):
        y = HEIGHT - BOTTOM - fraction * plot_height
        gridlines.append(_n(y))
        labels.append(Label(x=_n(LEFT - 6), y=_n(y + 4), text=f"{top * fraction:g}", anchor="end"))
    return Chart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        labels=labels,
        gridlines=gridlines,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        legend=list(series),
    )


def _nice_ceiling(value: int) -> int:
    """The axis top: the first round number at or above `value` whose half
    (the middle gridline) is a whole number too."""
    if value <= 2:
        return 2
    magnitude = 10 ** int(log10(value))
    candidates = (round(step * magnitude, 6) for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10))
    return next(
        int(c) for c in candidates if c >= value and c == int(c) and int(c) % 2 == 0
    )  # 10 × magnitude always qualifies


def _n(value: float) -> str:
    return f"{value:.1f}"
