"""The example project's own sign-in page (``LOGIN_URL``): the live pages send a signed-out visitor there,
and anyone with an account, staff or not, signs in through its form and is brought back to the page
they asked for. (The admin's login form refuses all but staff: sent there, a customer could never see
their own goals.)"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from goals.lifecycle.states import GoalState
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct horse battery staple"


def browser() -> Client:
    """A client that checks CSRF tokens as a browser's requests are checked."""
    return Client(enforce_csrf_checks=True)


def sign_in_through_the_form(client: Client, login_page: str, username: str, password: str):
    """GET the login page the live page redirected to, then POST its form as a person would."""
    page = client.get(login_page)
    assert page.status_code == 200
    form = page.content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    next_page = re.search(r'name="next" value="([^"]*)"', form)[1]
    return client.post(LOGIN, {"csrfmiddlewaretoken": token, "username": username, "password": password,
                               "next": next_page})


def test_a_user_who_is_not_staff_signs_in_and_is_brought_back_to_their_goal():
    alice = User.objects.create_user("alice", password=PASSWORD)
    goal = make_goal(owner=alice, state=GoalState.RUNNING, progress_current=1, progress_total=4,
                     progress_message="one of four")
    live_page = f"/goals/{goal.pk}/"
    client = browser()

    sent_away = client.get(live_page)
    assert (sent_away.status_code, sent_away["Location"]) == (302, f"{LOGIN}?next={live_page}")
    signed_in = sign_in_through_the_form(client, sent_away["Location"], "alice", PASSWORD)
    assert (signed_in.status_code, signed_in["Location"]) == (302, live_page)

    page = client.get(live_page)
    assert page.status_code == 200
    assert "one of four" in page.content.decode()
    listed = client.get("/goals/").content.decode()
    assert f'data-goal="{goal.pk}"' in listed


def test_the_admin_login_refuses_the_same_user_which_is_why_the_project_has_its_own():
    User.objects.create_user("alice", password=PASSWORD)
    client = browser()
    form = client.get("/admin/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    refused = client.post("/admin/login/", {"csrfmiddlewaretoken": token, "username": "alice", "password": PASSWORD})
    assert refused.status_code == 200
    assert "staff account" in refused.content.decode()
    assert client.get("/goals/").status_code == 302, "still signed out"


def test_staff_sign_in_on_the_same_page_and_see_any_goal_and_the_admin():
    User.objects.create_user("staff", password=PASSWORD, is_staff=True)
    goal = make_goal(owner=User.objects.create_user("bob"), progress_message="half of bob's")
    live_page = f"/goals/{goal.pk}/"
    client = browser()

    sent_away = client.get(live_page)
    signed_in = sign_in_through_the_form(client, sent_away["Location"], "staff", PASSWORD)
    assert (signed_in.status_code, signed_in["Location"]) == (302, live_page)
    assert "half of bob" in client.get(live_page).content.decode()
    assert client.get("/admin/").status_code == 200, "one session for the live pages and the admin"


def test_a_wrong_password_stays_on_the_form_saying_so():
    User.objects.create_user("alice", password=PASSWORD)
    client = browser()
    refused = sign_in_through_the_form(client, f"{LOGIN}?next=/goals/", "alice", "wrong")
    assert refused.status_code == 200
    page = refused.content.decode()
    assert 'role="alert"' in page
    assert 'name="next" value="/goals/"' in page, "the page asked for is kept for the next try"
    assert client.get("/goals/").status_code == 302


def test_without_a_next_or_with_another_sites_signing_in_lands_on_the_front_page():
    User.objects.create_user("alice", password=PASSWORD)
    for login_page in (LOGIN, f"{LOGIN}?next=https://elsewhere.example/"):
        client = browser()
        signed_in = sign_in_through_the_form(client, login_page, "alice", PASSWORD)
        assert (signed_in.status_code, signed_in["Location"]) == (302, "/"), login_page
