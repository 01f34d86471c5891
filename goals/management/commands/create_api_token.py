"""``manage.py create_api_token <username> --name <name>``: issue a key for the HTTP API.

The key is printed once, alone on stdout (so a script can capture it); only its digest is stored, so it
cannot be shown again. Delete the token in the admin (or the database) to revoke it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from goals.management.base import GoalsCommand
from goals.models import ApiToken
from goals.tokens import api_token_create


class Command(GoalsCommand):
    help = "Create an API token acting as USERNAME and print its key (shown this once only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as.")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. the client's name.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        name = name.strip()
        max_length = ApiToken._meta.get_field("name").max_length
        if not name or len(name) > max_length:
            raise CommandError(f"--name must be 1 to {max_length} characters")
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive: the token would be refused")
        token, key = api_token_create(user=user, name=name)
        self.stdout.write(key)
        self.stderr.write(f"Created token {token.name!r} ({token.prefix}...) for {username}. "
                          "Copy the key now: it is not stored and cannot be shown again.")
