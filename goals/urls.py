"""goaltrack's routes, namespaced ``goals``: a host mounts them with one ``include()`` under any prefix.

    path("", include("goals.urls"))          # /api/goals/, /goals/, /goals/<id>/, /metrics
    path("tracking/", include("goals.urls"))  # /tracking/api/goals/, /tracking/goals/, ...

Everything in the app reverses these names through the ``goals:`` namespace, never a name the host
defines; ``goals.checks.settings`` reports a project that did not include them.
"""

from django.urls import include, path

from goals.required_apps import missing_required_apps

app_name = "goals"
urlpatterns = []

# The views read django-celery-results' rows: without that app, importing them would stop every
# management command before the system check (goals.E020) could say what is missing.
if not missing_required_apps():
    from goals.metrics import metrics_view
    from goals.web import urls as api_urls
    from goals.web.pages import goal_list_page, goal_progress_page

    urlpatterns = [
        path("api/", include(api_urls)),
        path("goals/", goal_list_page, name="goal-list-page"),
        path("goals/<str:goal_id>/", goal_progress_page, name="goal-progress"),
        path("metrics", metrics_view, name="metrics"),
    ]
