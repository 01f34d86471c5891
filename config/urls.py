"""URLs of the example project: a front page, the admin, and goaltrack's routes with the one include a
host adds."""

from django.contrib import admin
from django.urls import include, path

from config.home import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("", include("goals.urls")),
]
