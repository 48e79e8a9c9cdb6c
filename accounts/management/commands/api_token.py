"""`python manage.py api_token <email> --org <slug>`: make an API token and print it once."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import record_audit
from accounts.models import Organization, Role, User
from accounts.tokens import TokenError, create_token


class Command(BaseCommand):
    help = "Create an API token for a member of an organization; the secret is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The member the token acts as.")
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--name", default="cli", help="A name to tell the token by.")
        parser.add_argument(
            "--role",
            choices=Role.values,
            default=None,
            help="At most the member's role (default: the member's role).",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until the token expires (default: never).",
        )

    def handle(self, *args, **options) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {options['email']}.")
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']}.")
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        try:
            issued = create_token(
                user,
                organization,
                name=options["name"],
                role=options["role"],
                expires_in=timedelta(days=days) if days else None,
            )
        except TokenError as error:
            raise CommandError(str(error)) from None
        record_audit(
            "api_token.created",
            organization=organization,
            actor=user,
            target=issued.token,
            role=issued.token.role,
            via="manage.py",
        )
        self.stdout.write(issued.secret)
        expiry = issued.token.expires_at.isoformat() if issued.token.expires_at else "never"
        self.stderr.write(
            f"Token {issued.token.prefix} for {user.email} in {organization.slug} "
            f"(role {issued.token.role}, expires {expiry}). It is shown only this once."
        )
