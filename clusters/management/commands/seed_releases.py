"""`manage.py seed_releases`: the Kubernetes releases a fresh install offers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from clusters import catalog
from clusters.provisioning.aws import is_sandbox


class Command(BaseCommand):
    help = "Create the default Kubernetes releases if absent (node images: the sandbox's)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = catalog.seed_releases()
        for release in created:
            self.stdout.write(f"Created Kubernetes {release.version}"
                              + (" (default)" if release.is_default else ""))
        if not created:
            self.stdout.write("The releases exist already; nothing changed.")
        if created and not is_sandbox():
            self.stdout.write(self.style.WARNING(
                "Real AWS: set each release's node image (AMI) per region in the ops panel "
                "(/ops/clusters/kubernetesrelease/) before launching clusters."
            ))
