"""`manage.py cluster …`: launch, scale, add or remove pools, delete, retry and show clusters.

The operator's way in, through the same operations (and rules) as the web UI and the API:

    manage.py cluster launch --org acme --name demo --instance-type m5.xlarge --workers 3
    manage.py cluster scale x7k2p --pool default --min 3 --max 6 [--desired 4] [--instance-type …]
    manage.py cluster add-pool x7k2p --name batch --instance-type c5.2xlarge --min 1 --max 4
    manage.py cluster remove-pool x7k2p --pool batch
    manage.py cluster delete x7k2p
    manage.py cluster retry x7k2p
    manage.py cluster show x7k2p
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization, User
from clusters import catalog, operations
from clusters.models import Cluster, NodePool
from clusters.provisioning.plan import plan_for
from clusters.specs import ClusterSpec, InvalidRequest, NodePoolSpec


def refusal(error: InvalidRequest) -> CommandError:
    lines = [f"{field or 'request'}: {message}"
             for field, messages in error.fields.items() for message in messages]
    return CommandError("Refused:\n  " + "\n  ".join(lines))


class Command(BaseCommand):
    help = "Launch, scale, change and delete guest clusters (the same rules as the UI and API)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        launch = sub.add_parser("launch", help="Launch a cluster.")
        launch.add_argument("--org", required=True, help="The organization's slug.")
        launch.add_argument("--name", required=True)
        launch.add_argument("--instance-type", default=catalog.DEFAULT_INSTANCE_TYPE)
        launch.add_argument("--workers", type=int, default=3,
                            help="Workers of the first pool (min = max = desired), default 3.")
        launch.add_argument("--min", type=int, dest="min_size", help="Instead of --workers.")
        launch.add_argument("--max", type=int, dest="max_size", help="Instead of --workers.")
        launch.add_argument("--region", default=settings.AWS_DEFAULT_REGION)
        launch.add_argument("--azs", type=int, default=2, help="Availability zones, 1–3.")
        launch.add_argument("--version", dest="kubernetes_version",
                            help="Kubernetes version; default: the default release.")
        launch.add_argument("--masters", type=int, default=1, help="1, or 3 for HA.")
        launch.add_argument("--user", help="E-mail of the user recorded as its creator.")

        scale = sub.add_parser("scale", help="Scale a node pool (or change its instance type).")
        scale.add_argument("cluster_id")
        scale.add_argument("--pool", default="default")
        scale.add_argument("--min", type=int, dest="min_size", required=True)
        scale.add_argument("--max", type=int, dest="max_size", required=True)
        scale.add_argument("--desired", type=int, dest="desired_size")
        scale.add_argument("--instance-type")

        add_pool = sub.add_parser("add-pool", help="Add a node pool.")
        add_pool.add_argument("cluster_id")
        add_pool.add_argument("--name", required=True)
        add_pool.add_argument("--instance-type", default=catalog.DEFAULT_INSTANCE_TYPE)
        add_pool.add_argument("--min", type=int, dest="min_size", default=3)
        add_pool.add_argument("--max", type=int, dest="max_size", default=10)
        add_pool.add_argument("--desired", type=int, dest="desired_size")

        remove_pool = sub.add_parser("remove-pool", help="Delete a node pool.")
        remove_pool.add_argument("cluster_id")
        remove_pool.add_argument("--pool", required=True)

        for name, text in (("delete", "Delete a cluster and everything it has in AWS."),
                           ("retry", "Retry a failed cluster."),
                           ("show", "Show a cluster, its pools and its AWS resources.")):
            sub.add_parser(name, help=text).add_argument("cluster_id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(options)
        except InvalidRequest as error:
            raise refusal(error) from error

    # --- lookups ------------------------------------------------------------------------------

    def organization(self, slug: str) -> Organization:
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f'No organization with the slug "{slug}".') from None

    def user(self, email: str | None) -> User | None:
        if not email:
            return None
        try:
            return User.objects.get(email=email.lower())
        except User.DoesNotExist:
            raise CommandError(f'No user with the e-mail address "{email}".') from None

    def cluster(self, cluster_id: str) -> Cluster:
        try:
            return Cluster.objects.select_related("organization", "release").get(pk=cluster_id)
        except Cluster.DoesNotExist:
            raise CommandError(f'No cluster with the id "{cluster_id}".') from None

    def pool(self, cluster: Cluster, name: str) -> NodePool:
        pool = cluster.node_pools.exclude(status=Cluster.Status.DELETED).filter(name=name).first()
        if pool is None:
            names = ", ".join(cluster.node_pools.exclude(status=Cluster.Status.DELETED)
                              .values_list("name", flat=True))
            raise CommandError(f'Cluster {cluster.id} has no node pool "{name}" (it has: {names}).')
        return pool

    # --- actions ------------------------------------------------------------------------------

    def do_launch(self, options: dict) -> None:
        organization = self.organization(options["org"])
        min_size = options["min_size"] if options["min_size"] is not None else options["workers"]
        max_size = options["max_size"] if options["max_size"] is not None else max(
            options["workers"], min_size)
        spec = ClusterSpec(
            name=options["name"],
            region=options["region"],
            availability_zone_count=options["azs"],
            kubernetes_version=options["kubernetes_version"],
            master_count=options["masters"],
            node_pools=[NodePoolSpec(instance_type=options["instance_type"],
                                     min_size=min_size, max_size=max_size)],
        )
        cluster = operations.launch_cluster(organization, self.user(options["user"]), spec)
        plan = plan_for(cluster)
        self.stdout.write(self.style.SUCCESS(f"Cluster {cluster.id} ({cluster.name}) requested."))
        zones = ", ".join(cluster.availability_zones)
        self.stdout.write(f"  region {cluster.region}, zones {zones}, VPC {cluster.vpc_cidr}")
        self.stdout.write(f"  {len(plan.resources)} AWS resources planned; estimated "
                          f"${plan.monthly_cost_usd} a month (${plan.hourly_cost_usd:.4f}/h)")
        self.stdout.write(f"  API: {cluster.api_hostname}")

    def do_scale(self, options: dict) -> None:
        cluster = self.cluster(options["cluster_id"])
        pool = operations.request_scale(
            self.pool(cluster, options["pool"]),
            min_size=options["min_size"], max_size=options["max_size"],
            desired_size=options["desired_size"], instance_type=options["instance_type"],
        )
        self.stdout.write(self.style.SUCCESS(
            f"Scaling {cluster.id}/{pool.name} to min {pool.min_size}, max {pool.max_size}, "
            f"desired {pool.desired_size} ({pool.instance_type})."
        ))

    def do_add_pool(self, options: dict) -> None:
        cluster = self.cluster(options["cluster_id"])
        pool = operations.add_node_pool(cluster, NodePoolSpec(
            name=options["name"], instance_type=options["instance_type"],
            min_size=options["min_size"], max_size=options["max_size"],
            desired_size=options["desired_size"],
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Node pool {cluster.id}/{pool.name} requested: {pool.instance_type}, "
            f"min {pool.min_size}, max {pool.max_size}, desired {pool.desired_size}."
        ))

    def do_remove_pool(self, options: dict) -> None:
        cluster = self.cluster(options["cluster_id"])
        pool = operations.request_node_pool_deletion(self.pool(cluster, options["pool"]))
        self.stdout.write(
            self.style.SUCCESS(f"Node pool {cluster.id}/{pool.name} is being deleted.")
        )

    def do_delete(self, options: dict) -> None:
        cluster = operations.request_cluster_deletion(self.cluster(options["cluster_id"]))
        self.stdout.write(self.style.SUCCESS(f"Cluster {cluster.id} is being deleted."))

    def do_retry(self, options: dict) -> None:
        cluster = operations.retry_provisioning(self.cluster(options["cluster_id"]))
        self.stdout.write(self.style.SUCCESS(f"Cluster {cluster.id} retrying ({cluster.status})."))

    def do_show(self, options: dict) -> None:
        cluster = self.cluster(options["cluster_id"])
        write = self.stdout.write
        write(f"Cluster {cluster.id}: {cluster.name} ({cluster.organization.slug})")
        status = cluster.get_status_display()
        if cluster.status_reason:
            status += f" — {cluster.status_reason}"
        write(f"  status:     {status}")
        if cluster.steps_total:
            write(f"  progress:   step {cluster.steps_done} of {cluster.steps_total} "
                  f"{cluster.current_step}".rstrip())
        write(f"  health:     {cluster.get_health_display()}")
        write(f"  region:     {cluster.region} ({', '.join(cluster.availability_zones)})")
        write(f"  kubernetes: {cluster.release.version}, {cluster.master_count} master(s)")
        write(f"  VPC CIDR:   {cluster.vpc_cidr}")
        write(f"  API:        https://{cluster.api_hostname}")
        write(f"  ingress:    {cluster.ingress_hostname} (CNAME your domains here)")
        write("Node pools:")
        for pool in cluster.node_pools.all():
            write(f"  {pool.name:<16} {pool.instance_type:<12} min {pool.min_size} max "
                  f"{pool.max_size} desired {pool.desired_size}  {pool.get_status_display()}")
        records = cluster.resources.filter(deleted_at__isnull=True)
        write(f"AWS resources (ledger): {records.count()}")
        for record in records:
            write(f"  {record.kind:<20} {record.aws_id:<40} {record.key}")
