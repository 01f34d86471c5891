"""API tokens in the admin: listed and revoked (deleted), never shown: only their digest is stored."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from goals.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key is shown once, when made: ``manage.py create_api_token <user> --name <what for>``.
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
