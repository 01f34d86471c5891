"""Goal and task ids are UUIDv7: valid RFC 9562 UUIDs whose order follows their creation time."""

import time
import uuid

from goals.ids import new_id, new_task_id


def test_an_id_is_a_version_7_rfc_uuid_carrying_its_creation_millisecond():
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_after_earlier_ones():
    earlier = [new_id() for _ in range(50)]
    time.sleep(0.002)
    later = [new_id() for _ in range(50)]
    assert max(earlier) < min(later)
    assert len(set(earlier + later)) == 100


def test_a_task_id_is_the_text_form_of_a_version_7_uuid():
    text = new_task_id()
    assert uuid.UUID(text).version == 7
    assert str(uuid.UUID(text)) == text


def test_ids_made_in_a_row_sort_in_the_order_they_were_made_even_within_one_millisecond():
    made = [new_id() for _ in range(10_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    per_millisecond = max(sum(1 for value in made if value.int >> 80 == ms) for ms in {v.int >> 80 for v in made})
    assert per_millisecond > 1, "several ids fell in one millisecond, so the order within one was checked"


def test_the_short_ids_of_goals_made_in_the_same_minute_differ():
    from goals.ids import short_id

    ids = [new_id() for _ in range(1000)]
    assert len({str(value)[:8] for value in ids}) <= 2, "the start of a UUIDv7 is its time"
    assert len({short_id(value) for value in ids}) > 990


def test_an_id_tells_when_it_was_made_to_the_millisecond():
    from datetime import UTC, datetime, timedelta

    from goals.ids import id_time, new_id

    before = datetime.now(UTC) - timedelta(milliseconds=1)
    made = id_time(new_id())
    assert before <= made <= datetime.now(UTC)
