"""The charts of the admin's overview, drawn on the server as SVG: what an operator would rather look at than
read. Goals started, succeeded and failed per 5 minutes over the last 24 hours, and running against held per
kind.

Plain SVG written here, no JavaScript and no chart library: it renders in any browser and prints. Each chart
scales to the page's width (``viewBox``), and says its figures in its ``<title>`` and a table for a screen
reader and a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from goals.palette import STATE_COLOURS

BUCKET = timedelta(minutes=5)
WINDOW = timedelta(hours=24)
# The drawing's own units; it is scaled to the width of the page.
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 960, 220, 48, 28, 16
# Text in the drawing's units: about 12 px on the page at the admin's 900 px content width.
FONT = "font:13px sans-serif"


@dataclass(frozen=True)
class Series:
    """One line of the activity chart: its name, colour and a count per bucket, oldest first."""

    name: str
    colour: str
    counts: list[int]


def activity_series(rows: list[tuple[str, datetime, int]], *, end: datetime) -> list[Series]:
    """The ``(series, bucket start, count)`` rows as three series of 288 buckets ending at ``end``'s bucket."""
    buckets = int(WINDOW / BUCKET)
    first = end - WINDOW
    counts = {name: [0] * buckets for name in ("started", "succeeded", "failed")}
    for name, at, count in rows:
        index = int((at - first) / BUCKET)
        if name in counts and 0 <= index < buckets:
            counts[name][index] += count
    return [Series("started", STATE_COLOURS["running"], counts["started"]),
            Series("succeeded", STATE_COLOURS["succeeded"], counts["succeeded"]),
            Series("failed", STATE_COLOURS["failed"], counts["failed"])]


def activity_svg(series: list[Series], *, end: datetime) -> SafeString:
    """Three lines over 24 hours, a tick every 3 hours in the project's time zone, the y axis to the busiest
    bucket."""
    buckets = len(series[0].counts)
    top = max([1, *(max(line.counts) for line in series)])
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP

    def x(index: float) -> float:
        return LEFT + plot_w * index / (buckets - 1)

    def y(count: int) -> float:
        return TOP + plot_h * (1 - count / top)

    lines = format_html_join("", '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}: {} in '
                             '24 h</title></polyline>',
                             ((line.colour, " ".join(f"{x(i):.1f},{y(c):.1f}" for i, c in enumerate(line.counts)),
                               line.name, sum(line.counts)) for line in series))
    first = end - WINDOW
    ticks = []
    for hours in range(0, 25, 3):
        at = timezone.localtime(first + timedelta(hours=hours))
        ticks.append((x((buckets - 1) * hours / 24), at.strftime("%H:%M")))
    # The last label ends at the axis' end, not past it.
    axis = format_html_join("", '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#ddd"/>'
                            '<text x="{0}" y="{3}" text-anchor="{5}">{4}</text>',
                            ((f"{tick_x:.1f}", TOP, HEIGHT - BOTTOM, HEIGHT - 8, label,
                              "end" if index == len(ticks) - 1 else "middle")
                             for index, (tick_x, label) in enumerate(ticks)))
    legend = format_html_join("", '<tspan fill="{}" font-weight="bold">{}</tspan><tspan> {} </tspan>',
                              ((line.colour, "\u2014", f"{line.name} {sum(line.counts):,}") for line in series))
    return format_html(
        '<svg class="goal-chart" id="activity-chart" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="Goals started, succeeded and failed per 5 minutes over the last 24 hours" '
        'preserveAspectRatio="none" style="width:100%;height:auto;{font}">'
        '<text x="{left}" y="{top_label}">{top} per 5 min</text>'
        '<line x1="{left}" x2="{left}" y1="{top_y}" y2="{base}" stroke="#999"/>'
        '<line x1="{left}" x2="{right}" y1="{base}" y2="{base}" stroke="#999"/>{axis}{lines}'
        '<text x="{right}" y="{top_label}" text-anchor="end">{legend}</text></svg>',
        w=WIDTH, h=HEIGHT, left=LEFT, right=WIDTH - 8, top_y=TOP, base=HEIGHT - BOTTOM, top_label=TOP - 3, font=FONT,
        top=top, axis=axis, lines=lines, legend=legend)


def running_held_svg(rows: list[tuple[str, int, int]]) -> SafeString:
    """A bar per kind: its running goals, then its held ones, to the largest kind's total."""
    if not rows:
        return mark_safe('<p id="running-held-chart">No goal is running or held.</p>')
    label_w, row_h = 300, 22
    height = row_h * len(rows) + 24
    most = max(running + held for _, running, held in rows) or 1
    scale = (WIDTH - label_w - 170) / most  # room after the longest bar for its figures
    bars = format_html_join(
        "",
        '<text x="{label_x}" y="{text_y}" text-anchor="end">{kind}</text>'
        '<rect x="{x}" y="{bar_y}" width="{run_w}" height="14" fill="{run_colour}"><title>{kind}: {running} '
        'running</title></rect>'
        '<rect x="{held_x}" y="{bar_y}" width="{held_w}" height="14" fill="{held_colour}"><title>{kind}: '
        '{held} held</title></rect>'
        '<text x="{end_x}" y="{text_y}">{running} running, {held} held</text>',
        ({"label_x": label_w - 8, "text_y": 16 + i * row_h, "bar_y": 5 + i * row_h, "kind": kind, "x": label_w,
          "run_w": f"{running * scale:.1f}", "held_x": f"{label_w + running * scale:.1f}",
          "held_w": f"{held * scale:.1f}", "running": running, "held": held,
          "run_colour": STATE_COLOURS["running"], "held_colour": STATE_COLOURS["held"],
          "end_x": f"{label_w + (running + held) * scale + 6:.1f}"}
         for i, (kind, running, held) in enumerate(rows)),
    )
    return format_html('<svg class="goal-chart" id="running-held-chart" viewBox="0 0 {w} {h}" role="img" '
                       'aria-label="Running against held goals per kind" style="width:100%;height:auto;{font}">'
                       '{bars}</svg>', w=WIDTH, h=height, bars=bars, font=FONT)
