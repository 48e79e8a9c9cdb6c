"""The demo data of `make run`."""

import io

from django.core.management import call_command

from accounts.models import AuditLogEntry, Membership, Role


def test_bootstrap_demo_makes_an_owner_and_a_viewer_once(db, settings):
    settings.DEBUG = True
    call_command("bootstrap_demo", stdout=io.StringIO())
    call_command("bootstrap_demo", stdout=io.StringIO())
    roles = dict(
        Membership.objects.filter(organization__slug="demo").values_list("user__email", "role")
    )
    assert roles == {"demo@happa.test": Role.OWNER, "viewer@happa.test": Role.VIEWER}
    assert AuditLogEntry.objects.filter(action="organization.created").count() == 1
