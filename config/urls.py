"""URLs: the admin, the JSON API, the live progress page and the Prometheus metrics."""

from django.contrib import admin
from django.urls import include, path

from goals.metrics import metrics_view
from goals.web.pages import goal_progress_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("goals.web.urls")),
    path("goals/<str:goal_id>/", goal_progress_page, name="goal-progress"),
    path("metrics", metrics_view, name="metrics"),
]
