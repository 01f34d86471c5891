"""Routes of the JSON API, mounted under ``api/`` by ``goals.urls`` (which a host includes, not this).

The names live in the ``goals`` namespace of ``goals.urls``. The action routes have no trailing slash:
they are verbs on a goal, not resources of their own. Every route here is described in
``goals.web.openapi`` (a test checks both ways).
"""

from django.urls import path

from goals.web import kinds, views

urlpatterns = [
    path("goals/", views.goal_collection, name="goal-list"),
    path("goals/bulk", views.goal_bulk_submit, name="goal-bulk-submit"),
    path("goals/<str:goal_id>/", views.goal_detail, name="goal-status"),
    path("goals/<str:goal_id>/cancel", views.goal_cancel_view, name="goal-cancel"),
    path("goals/<str:goal_id>/retry", views.goal_retry_view, name="goal-retry"),
    path("goals/<str:goal_id>/reschedule", views.goal_reschedule_view, name="goal-reschedule"),
    path("events/", views.event_view, name="goal-events"),
    path("kinds/", kinds.kind_list, name="kind-list"),
    path("kinds/<str:kind>/pause", kinds.kind_pause, name="kind-pause"),
    path("kinds/<str:kind>/resume", kinds.kind_resume, name="kind-resume"),
    path("kinds/<str:kind>/concurrency", kinds.kind_concurrency, name="kind-concurrency"),
    path("schema/", views.openapi_schema, name="goal-api-schema"),
]
