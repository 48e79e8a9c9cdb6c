"""`manage.py sso_provider`: ops staff set an organization's identity provider from the shell."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import IdentityProvider, Organization, Role
from accounts.sso import save_identity_provider
from accounts.sso_forms import parse_domains, validate_issuer


class Command(BaseCommand):
    help = (
        "Create or update an organization's OpenID Connect identity provider (checks the "
        "issuer's discovery document) and print the redirect URI to register at the provider."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--name", required=True, help='Button label: "Sign in with <name>".')
        parser.add_argument("--issuer", required=True, help="The provider's issuer URL.")
        parser.add_argument("--client-id", required=True)
        parser.add_argument(
            "--client-secret",
            default="",
            help="Required when the organization has no provider yet; empty keeps the stored one.",
        )
        parser.add_argument("--groups-claim", default=None, help='Default "groups".')
        parser.add_argument(
            "--admin-group",
            action="append",
            default=[],
            help="A group whose members become admins (repeatable).",
        )
        parser.add_argument(
            "--default-role",
            choices=[choice.value for choice in Role],
            default=None,
            help="Role of first-time users whose groups map to no role (default member).",
        )
        parser.add_argument(
            "--allowed-domains",
            default=None,
            help="Comma-separated e-mail domains allowed to sign up; empty string: any.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"There is no organization with the slug {options['org']!r}.")
        existing = IdentityProvider.objects.filter(organization=organization).first()
        name = options["name"].strip()
        client_id = options["client_id"].strip()
        if not name or len(name) > 60:
            raise CommandError("--name must have 1 to 60 characters.")
        if not client_id or len(client_id) > 200:
            raise CommandError("--client-id must have 1 to 200 characters.")
        if existing is None and not options["client_secret"]:
            raise CommandError(f"{organization.slug} has no provider yet: give --client-secret.")
        try:
            issuer = validate_issuer(options["issuer"])
            domains = (
                parse_domains(options["allowed_domains"])
                if options["allowed_domains"] is not None
                else None
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

        values: dict[str, Any] = {
            "name": name,
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": options["client_secret"],
        }
        if options["groups_claim"] is not None:
            values["groups_claim"] = options["groups_claim"].strip() or "groups"
        if options["admin_group"]:
            group_roles = dict(existing.group_roles) if existing else {}
            group_roles.update({group: Role.ADMIN.value for group in options["admin_group"]})
            values["group_roles"] = group_roles
        if options["default_role"] is not None:
            values["default_role"] = options["default_role"]
        if domains is not None:
            values["allowed_email_domains"] = domains

        idp = save_identity_provider(organization, values)
        verb = "Updated" if existing else "Created"
        self.stdout.write(f"{verb} {idp.name} for {organization.slug} (issuer {idp.issuer}).")
        self.stdout.write("Register this redirect URI at the identity provider:")
        self.stdout.write(idp.redirect_uri)
