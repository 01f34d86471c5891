"""URLs of the example project: a front page, its own sign-in pages, the admin, and goaltrack's routes with
the one include a host adds."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.home import home

urlpatterns = [
    path("", home, name="home"),
    # Anyone with an account signs in here (LOGIN_URL): the admin's login form refuses all but staff, so
    # a customer sent there by a live page could never see their own goals.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("goals.urls")),
]
