"""A goal's family on its admin page: the parent it belongs to, and its children with their state and
progress (the first few by key, one query; the rest through the goal list's ``parent`` filter)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from goals.admin.display import progress_bar, short_uuid_html, state_badge
from goals.families.children import first_children
from goals.lifecycle.fan_in import ChildPolicy, whole_progress
from goals.models import Goal


def _change_url(goal_id: object) -> str:
    return reverse("admin:goals_goal_change", args=[goal_id])


def children_list_url(goal: Goal) -> str:
    return f"{reverse('admin:goals_goal_changelist')}?parent={goal.pk}"


def parent_html(goal: Goal) -> str:
    if not goal.parent_id:
        return "-"
    return format_html('<a href="{}">{}</a> as <code>{}</code>', _change_url(goal.parent_id),
                       short_uuid_html(goal.parent_id), goal.child_key)


def children_html(goal: Goal) -> str:
    if not goal.children_total:
        return "-"
    whole = 100 * whole_progress(goal.children_total, goal.children_final)
    summary = format_html(
        "{} of {} final ({} failed) &middot; {}% &middot; {}{}", goal.children_final, goal.children_total,
        goal.children_failed, f"{whole:.0f}", ChildPolicy(goal.child_failures_allowed),
        format_html(" &middot; then <code>{}</code>", goal.continuation) if goal.continuation else "")
    children = first_children(goal.pk)
    rows = format_html_join("", '<tr><td><a href="{}"><code>{}</code></a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
                            ((_change_url(child.pk), child.child_key, child.kind, state_badge(child.state),
                              progress_bar(child, width_px=80)) for child in children))
    more = format_html('<a href="{}">All {} children in the goal list</a>', children_list_url(goal),
                       goal.children_total)
    return format_html('<p>{}</p><table><thead><tr><th>key</th><th>kind</th><th>state</th><th>progress</th></tr>'
                       "</thead><tbody>{}</tbody></table><p>{}</p>", summary, rows, more)
