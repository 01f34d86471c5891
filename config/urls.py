"""URLs: the admin, the JSON API and the live progress page."""

from django.contrib import admin
from django.urls import include, path

from goals.web.pages import goal_progress_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("goals.web.urls")),
    path("goals/<str:goal_id>/", goal_progress_page, name="goal-progress"),
]
