"""The example project's front page: ``/`` says where to go (and who is signed in), and every link it gives leads
somewhere."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_the_front_page_links_sign_in_the_live_list_the_admin_the_reports_and_the_schema(client, admin_user):
    page = client.get("/")
    assert page.status_code == 200
    links = re.findall(r'href="([^"]+)"', page.content.decode())
    assert links == ["/accounts/login/", "/goals/", "/admin/goals/goal/", "/admin/goals/reconciliationreport/",
                     "/api/schema/"]
    client.force_login(admin_user)
    assert [client.get(link).status_code for link in links] == [200, 200, 200, 200, 200]


def test_signed_in_the_front_page_says_who_and_signs_out_with_a_post(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert f"Signed in as <strong>{admin_user.username}</strong>" in page
    assert '<form method="post" action="/accounts/logout/">' in page
    assert 'href="/accounts/login/"' not in page
    signed_out = client.post("/accounts/logout/")
    assert (signed_out.status_code, signed_out["Location"]) == (302, "/")
    assert 'href="/accounts/login/"' in client.get("/").content.decode()


@override_settings(GOALS_METRICS="open")
def test_the_front_page_links_the_metrics_where_they_are_served(client):
    links = re.findall(r'href="([^"]+)"', client.get("/").content.decode())
    assert links[-1] == "/metrics"
    assert client.get(links[-1]).status_code == 200
