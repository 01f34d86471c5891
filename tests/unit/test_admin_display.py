"""How the admin writes times and names compactly, so the goal list and its inlines fit at 1280 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from goals.admin.display import breakable_name, compact_duration, relative_time_html, timestamp_html

NOW = datetime(2026, 12, 2, 14, 30, 21, 123456, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "shown"), [
    (timedelta(seconds=0), "0s"), (timedelta(seconds=59.9), "59s"), (timedelta(minutes=1), "1m"),
    (timedelta(minutes=59, seconds=59), "59m"), (timedelta(hours=5, minutes=59), "5h"),
    (timedelta(days=3, hours=23), "3d"), (timedelta(minutes=-7), "7m"),
])
def test_compact_duration_is_the_largest_whole_unit(delta, shown):
    assert compact_duration(delta) == shown


def test_relative_times_say_ago_or_in_and_keep_the_exact_time_on_hover():
    past = relative_time_html(NOW - timedelta(seconds=42), NOW)
    assert past.endswith(">42s ago</time>")
    assert 'datetime="2026-12-02T14:29:39.123456+00:00"' in past
    assert relative_time_html(NOW + timedelta(hours=2), NOW).endswith(">in 2h</time>")
    assert relative_time_html(NOW - timedelta(days=1), NOW, bare=True).endswith(">1d</time>")
    assert "color:#dc3545" in relative_time_html(NOW, NOW, alert=True)
    assert relative_time_html(None, NOW) == "-"


def test_a_time_on_the_same_day_shows_the_time_alone_and_a_stacked_one_puts_the_date_above():
    later = NOW + timedelta(seconds=5)
    assert timestamp_html(later, same_day_as=NOW).endswith(">14:30:26</time>")
    assert timestamp_html(later + timedelta(days=1), same_day_as=NOW).endswith(">2026-12-03 14:30:26</time>")
    assert timestamp_html(NOW, stacked=True, milliseconds=True).endswith(">2026-12-02<br>14:30:21.123</time>")


def test_names_may_wrap_after_dots_and_at_signs_and_stay_escaped():
    nowrap = '<span style="white-space:nowrap">{}</span>'.format
    assert breakable_name("celery@host.example") == "<wbr>".join(map(nowrap, ["celery@", "host.", "example"]))
    assert breakable_name("<b>.x") == "<wbr>".join(map(nowrap, ["&lt;b&gt;.", "x"]))
    assert breakable_name("demo.account_report") == "<wbr>".join(map(nowrap, ["demo.", "account_", "report"])), (
        "breaks between words, never inside one")
