"""``manage.py create_token --name NAME --role ROLE [--team TEAM] [--expires DAYS] [--owner USERNAME] [--quiet]``."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.changelog import Actor
from core.models import Role
from core.tokens import issue_token


class Command(BaseCommand):
    """Prints the new token alone on the last line: it is shown this once, and only its digest is kept.

    With ``--quiet`` the secret is all it prints, for ``TOKEN=$(python manage.py create_token --quiet ...)``: a
    failure prints nothing on standard output (its error goes to standard error) and exits non-zero.
    """

    help = "Create an API token; its secret is printed once, on the last line (with --quiet, alone)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--team", default="")
        parser.add_argument("--expires", type=int, metavar="DAYS", help="days until it stops working")
        parser.add_argument(
            "--owner", metavar="USERNAME", help="the person accountable for the token (they may not audit its requests)"
        )
        parser.add_argument("--quiet", action="store_true", help="print only the secret")

    def handle(
        self,
        *args: Any,
        name: str,
        role: str,
        team: str,
        expires: int | None,
        owner: str | None,
        quiet: bool,
        **options: Any,
    ) -> None:
        if expires is not None and expires < 1:
            raise CommandError("--expires: give a number of days of at least 1")
        created_by = None
        if owner is not None:
            created_by = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: owner}).first()
            if created_by is None:
                raise CommandError(f"--owner: no user named {owner!r}")
        try:
            issued = issue_token(
                actor=Actor.system("create_token"),
                name=name,
                role=role,
                team=team,
                expires_in_days=expires,
                created_by=created_by,
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"--{field}: {' '.join(m)}" for field, m in error.message_dict.items())
            ) from None
        if not quiet:
            expiry = issued.token.expires_at.isoformat(timespec="seconds") if issued.token.expires_at else "never"
            self.stdout.write(
                f"Token {name!r}: role {role}, team {team or '-'}, expires {expiry}. It is shown only now:"
            )
        self.stdout.write(issued.secret)
