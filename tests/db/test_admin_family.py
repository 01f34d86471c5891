"""A family in the admin: the parent's page lists its children, each child's page links its parent, and
the goal list filters by parent."""

import pytest

from goals.lifecycle.states import GoalState
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/goals/goal/"


def test_a_parents_page_lists_its_children_and_a_childs_page_links_its_parent(admin_client):
    parent = make_goal(state=GoalState.WAITING, children_total=3, children_final=1, children_failed=1,
                       child_failures_allowed=0, continuation="tests.family_merge")
    children = [make_goal(state=state, parent=parent, child_key=key, progress_current=1, progress_total=4)
                for key, state in (("b", GoalState.RUNNING), ("a", GoalState.FAILED), ("c", GoalState.QUEUED))]
    page = admin_client.get(f"{LIST_URL}{parent.pk}/change/").content.decode()
    summary = "1 of 3 final (1 failed) &middot; 33% &middot; fail fast &middot; then <code>tests.family_merge</code>"
    assert summary in page
    positions = [page.index(f'<a href="{LIST_URL}{child.pk}/change/"><code>{child.child_key}</code></a>')
                 for child in children]
    assert positions[1] < positions[0] < positions[2], "listed by key"
    assert f'href="{LIST_URL}?parent={parent.pk}">All 3 children in the goal list' in page
    child_page = admin_client.get(f"{LIST_URL}{children[0].pk}/change/").content.decode()
    assert f'<a href="{LIST_URL}{parent.pk}/change/">' in child_page
    assert "<code>b</code>" in child_page
    assert "Family" not in admin_client.get(f"{LIST_URL}{make_goal().pk}/change/").content.decode()


def test_the_goal_list_filters_by_parent(admin_client):
    parent = make_goal(state=GoalState.WAITING, children_total=2)
    children = {make_goal(parent=parent, child_key=key).pk for key in ("x", "y")}
    make_goal()
    listed = admin_client.get(LIST_URL, {"parent": str(parent.pk)}).context["cl"].result_list
    assert {goal.pk for goal in listed} == children
    refused = admin_client.get(LIST_URL, {"parent": "not-a-uuid"})
    assert (refused.status_code, refused["Location"]) == (302, f"{LIST_URL}?e=1"), "Django's answer to a bad filter"
