"""A host's URLs that forgot ``include("goals.urls")`` (for the system check that says so)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
