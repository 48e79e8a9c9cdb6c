"""Inject (or mend) a fault in a sandbox cluster and watch its alert fire (or resolve)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import record_audit
from clusters.models import Cluster
from monitoring.faults import FAULTS, FaultError, inject_fault, mend_fault
from monitoring.health import poll_clusters


class Command(BaseCommand):
    help = (
        "Sandbox AWS only: break a running cluster on purpose (alarm, stop-worker, "
        "terminate-bastion) or mend it with --mend, then run one health poll so the alert fires "
        "or resolves at once (the beat would within HEALTH_POLL_SECONDS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster_id")
        parser.add_argument("fault", choices=FAULTS)
        parser.add_argument("--mend", action="store_true", help="undo the fault instead")
        parser.add_argument("--no-poll", action="store_true", help="leave it to the next poll")

    def handle(self, *args, cluster_id: str, fault: str, mend: bool, no_poll: bool,
               **options) -> None:
        live = Cluster.objects.live().select_related("organization")
        cluster = live.filter(pk=cluster_id).first()
        if cluster is None:
            raise CommandError(f"No live cluster with id {cluster_id!r}.")
        try:
            result = (mend_fault if mend else inject_fault)(cluster, fault)
        except FaultError as exc:
            raise CommandError(str(exc)) from exc
        record_audit(
            "sandbox_fault.mended" if mend else "sandbox_fault.injected",
            organization=cluster.organization, target=cluster, via="management command",
            fault=fault, resource=result.resource,
        )
        self.stdout.write(result.message)
        if not no_poll:
            poll_clusters([cluster])
            cluster.refresh_from_db(fields=["health"])
            firing = cluster.alerts.firing().count()
            self.stdout.write(f"Health: {cluster.health}; firing alerts: {firing}.")
