"""Make a new Alertmanager receiver token for a cluster and print it (shown once)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from accounts.audit import record_audit
from clusters.models import Cluster
from monitoring.models import ClusterAlertReceiver


class Command(BaseCommand):
    help = "Rotate (or create) a cluster's Alertmanager webhook token and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster_id")

    def handle(self, *args, cluster_id: str, **options) -> None:
        cluster = Cluster.objects.live().filter(pk=cluster_id).first()
        if cluster is None:
            raise CommandError(f"No live cluster with id {cluster_id!r}.")
        token = ClusterAlertReceiver.rotate(cluster)
        record_audit("alert_receiver.rotated", organization=cluster.organization, target=cluster,
                     via="management command")
        url = settings.SITE_URL + reverse("monitoring:alertmanager", args=[cluster.id])
        self.stdout.write(f"url: {url}\ntoken: {token}\n")
