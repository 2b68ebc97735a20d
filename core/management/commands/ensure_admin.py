"""``manage.py ensure_admin``: make sure an admin user exists, printing its credentials when made."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    """Creates the admin user with a random password on first run; ``--reset`` sets a new one."""

    help = "Create the admin user if it is missing (printing its password), or reset its password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset", action="store_true", help="give an existing user a new password")

    def handle(self, *args: Any, username: str, reset: bool, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None and not reset:
            self.stdout.write(
                f"Admin user {username!r} exists; its password was printed when it was made. "
                f"For a new one: python manage.py ensure_admin --reset"
            )
            return
        password = secrets.token_urlsafe(12)
        if user is None:
            user_model.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"Admin user: {username}  password: {password}"))
