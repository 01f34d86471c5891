"""A family on the HTTP side: the list API and the /goals/ page filter by parent, and a goal's page shows
its parent and its children."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from goals.lifecycle.states import GoalState
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def family(owner):
    parent = make_goal(state=GoalState.WAITING, owner=owner, children_total=3, children_final=1,
                       child_failures_allowed=None, continuation="tests.family_merge")
    children = [make_goal(state=state, owner=owner, parent=parent, child_key=key)
                for key, state in (("b", GoalState.RUNNING), ("a", GoalState.SUCCEEDED), ("c", GoalState.QUEUED))]
    return parent, children


def test_the_list_api_and_page_give_one_parents_children_and_refuse_a_bad_parent():
    alice = User.objects.create_user("alice")
    parent, children = family(alice)
    make_goal(owner=alice)
    client = signed_in(alice)
    listed = client.get("/api/goals/", {"parent": str(parent.pk)}).json()["results"]
    assert {goal["id"] for goal in listed} == {str(child.pk) for child in children}
    assert {goal["family"]["parent"]["id"] for goal in listed} == {str(parent.pk)}
    page = client.get("/goals/", {"parent": str(parent.pk)})
    assert page.status_code == 200
    assert {goal.pk for goal in page.context["goals"]} == {child.pk for child in children}
    refused = client.get("/api/goals/", {"parent": "nope"})
    assert (refused.status_code, refused.json()["fields"]) == (400, {"parent": ["'nope' is not a goal id (a UUID)"]})
    other = signed_in(User.objects.create_user("bob")).get("/api/goals/", {"parent": str(parent.pk)}).json()
    assert other["results"] == [], "another user's family stays invisible"


def test_a_goals_page_shows_its_parent_and_its_children():
    alice = User.objects.create_user("alice")
    parent, children = family(alice)
    client = signed_in(alice)
    page = client.get(f"/goals/{parent.pk}/").content.decode()
    assert "1 of 3 final,\n         0 failed</span> &middot; wait for all" in page
    assert "then <code>tests.family_merge</code>" in page
    keys = [page.index(f'<a href="/goals/{child.pk}/"><code>{child.child_key}</code></a>') for child in children]
    assert keys[1] < keys[0] < keys[2], "listed by key"
    assert f'<a href="/goals/?parent={parent.pk}">All 3 children</a>' in page
    child_page = client.get(f"/goals/{children[0].pk}/").content.decode()
    assert f'Part of <a href="/goals/{parent.pk}/">' in child_page
    assert 'id="children"' not in client.get(f"/goals/{make_goal(owner=alice).pk}/").content.decode()
