"""A host's URLs that mounted the API's own module instead of ``goals.urls`` (the mistake the API refuses)."""

from django.urls import include, path

urlpatterns = [path("api/", include("goals.web.urls"))]
