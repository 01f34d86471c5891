"""URLs of the example project: the admin, and goaltrack's routes with the one include a host adds."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("goals.urls")),
]
