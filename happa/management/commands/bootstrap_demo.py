"""Creates the demo organization, its demo user and a local ops superuser for `make run`."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.audit import record_audit
from accounts.models import Membership, Organization, Role, User
from clusters import catalog

DEMO_ORG = ("demo", "Demo Organization")
DEMO_USER = ("demo@happa.test", "happa-demo")
# A second person in the demo organization, to try what a read-only member sees.
DEMO_VIEWER = ("viewer@happa.test", "happa-viewer")
OPS_USER = ("ops@happa.test", "happa-ops")


def ensure_user(email: str, password: str, *, superuser: bool = False) -> User:
    """The user with this e-mail, created with a verified address if absent; password untouched."""
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(email=email, password=password)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Create the demo organization and users of the embedded set-up (DEBUG only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "bootstrap_demo makes well-known passwords: it runs with DEBUG only."
            )
        with transaction.atomic():
            org, created = Organization.objects.get_or_create(
                slug=DEMO_ORG[0], defaults={"name": DEMO_ORG[1]}
            )
            demo = ensure_user(*DEMO_USER)
            Membership.objects.get_or_create(
                user=demo, organization=org, defaults={"role": Role.OWNER}
            )
            viewer = ensure_user(*DEMO_VIEWER)
            Membership.objects.get_or_create(
                user=viewer, organization=org, defaults={"role": Role.VIEWER}
            )
            if created:
                record_audit("organization.created", organization=org, target=org.slug)
            ensure_user(*OPS_USER, superuser=True)
            # What launching needs on a fresh install: releases (with the sandbox's node image)
            # and the catalog from the shipped table (the worker refreshes it from EC2 later).
            catalog.seed_releases()
            catalog.ensure_catalog()
        site = settings.SITE_URL
        self.stdout.write(
            self.style.SUCCESS("\nHappa is starting on the embedded defaults.\n")
            + f"  Site:       {site}/\n"
            + f"  Demo user:  {DEMO_USER[0]} / {DEMO_USER[1]}  (owner of '{DEMO_ORG[1]}')\n"
            + f"  Viewer:     {DEMO_VIEWER[0]} / {DEMO_VIEWER[1]}  (read-only member)\n"
            + f"  Ops panel:  {site}/ops/  as {OPS_USER[0]} / {OPS_USER[1]}\n"
            + f"  Sandbox AWS: {settings.AWS_ENDPOINT_URL or 'off (real AWS)'}\n"
            + "  Press Ctrl-C to stop everything.\n"
        )
