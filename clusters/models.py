"""Guest clusters, their node pools, the resource ledger, events, and the catalog they draw on."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.crypto import EncryptedTextField
from accounts.models import Organization, User

CLUSTER_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_cluster_id() -> str:
    """A short, DNS-safe id such as `x7k2p`: a letter, then four letters or digits."""
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(CLUSTER_ID_ALPHABET) for _ in range(4)
    )


class KubernetesRelease(models.Model):
    """A Kubernetes version that ops offer, with its node image per region."""

    version = models.CharField(
        max_length=20, unique=True, validators=[RegexValidator(r"^\d+\.\d+\.\d+$")]
    )
    images = models.JSONField(
        default=dict,
        blank=True,
        help_text='Node image (AMI id) per region: {"eu-central-1": "ami-…"}.',
    )
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, help_text="Offered for new clusters.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_release"
            )
        ]

    def __str__(self) -> str:
        return self.version


class InstanceType(models.Model):
    """An EC2 instance type of the catalog (see clusters/catalog.py for how rows are filled)."""

    name = models.CharField(max_length=40, unique=True)
    vcpus = models.PositiveIntegerField()
    memory_mib = models.PositiveIntegerField()
    architecture = models.CharField(max_length=20, default="x86_64")
    regions = models.JSONField(default=list, blank=True, help_text="Regions that offer it.")
    hourly_price_usd = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="On-demand, Linux."
    )
    price_source = models.CharField(max_length=200, blank=True)
    is_recommended = models.BooleanField(default=False, help_text="Shown first to customers.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_recommended", "vcpus", "memory_mib", "name"]

    def __str__(self) -> str:
        return self.name


class CatalogPolicy(models.Model):
    """Ops' one switch over the catalog: may customers pick types that are not recommended?"""

    allow_other_types = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "catalog policy"

    def __str__(self) -> str:
        return "Catalog policy"

    @classmethod
    def current(cls) -> CatalogPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


class ClusterQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> ClusterQuerySet:
        """Clusters of the user's organizations; deleted ones are kept for the record only."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(organization__memberships__user=user)

    def live(self) -> ClusterQuerySet:
        return self.exclude(status=Cluster.Status.DELETED)


class Cluster(models.Model):
    """A guest cluster: desired state in this row; AWS state in the ledger (ResourceRecord)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CREATING = "creating", "Creating"
        RUNNING = "running", "Running"
        UPDATING = "updating", "Updating"
        DELETING = "deleting", "Deleting"
        DELETED = "deleted", "Deleted"
        FAILED = "failed", "Failed"

    class Health(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        HEALTHY = "healthy", "Healthy"
        DEGRADED = "degraded", "Degraded"
        UNHEALTHY = "unhealthy", "Unhealthy"

    # The short id is the primary key: it names AWS resources, DNS names and URLs alike.
    id = models.CharField(primary_key=True, max_length=8, default=new_cluster_id, editable=False)
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="clusters")
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=30, default="eu-central-1")
    availability_zones = models.JSONField(default=list, help_text="AZ names, chosen at launch.")
    release = models.ForeignKey(KubernetesRelease, models.PROTECT, related_name="clusters")
    master_count = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    vpc_cidr = models.CharField(max_length=18, help_text="Allocated per organization.")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True, help_text="Why it failed, in the user's words.")
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    # Progress of the current reconcile, for "step 7 of 19".
    current_step = models.CharField(max_length=60, blank=True)
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)

    # Per-cluster lock (see clusters/provisioning/reconcile.py): a conditional UPDATE claims it.
    lock_token = models.CharField(max_length=40, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)

    # The cluster's own certificate authority (kubeconfig, API server).
    ca_certificate = models.TextField(blank=True)
    ca_private_key = EncryptedTextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=~Q(status="deleted"),
                name="unique_live_cluster_name_per_org",
            )
        ]
        indexes = [
            # Also one page of one status, newest first, without a sort (the status filter).
            models.Index(
                fields=["organization", "status", "-created_at", "-id"],
                name="cluster_org_status_newest_idx",
            ),
            # The list's default order: one page of the newest clusters is read straight off
            # this index instead of sorting the whole organization (bench/cluster_list.py).
            models.Index(
                fields=["organization", "-created_at", "-id"], name="cluster_org_newest_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def get_absolute_url(self) -> str:
        return reverse("clusters:detail", args=[self.id])

    @property
    def dns_zone(self) -> str:
        return f"{self.id}.{settings.HAPPA_BASE_DOMAIN}"

    @property
    def api_hostname(self) -> str:
        return f"api.{self.dns_zone}"

    @property
    def ingress_hostname(self) -> str:
        return f"ingress.{self.dns_zone}"

    @property
    def is_deletable(self) -> bool:
        return self.status not in (self.Status.DELETING, self.Status.DELETED)

    @property
    def is_changeable(self) -> bool:
        """Whether pools may be scaled, added or removed now."""
        return self.status in (self.Status.RUNNING, self.Status.UPDATING, self.Status.FAILED)


class NodePool(models.Model):
    """Worker nodes of one instance type: an auto-scaling group across the private subnets."""

    cluster = models.ForeignKey(Cluster, models.CASCADE, related_name="node_pools")
    name = models.SlugField(max_length=30)
    instance_type = models.CharField(max_length=40)
    min_size = models.PositiveIntegerField(default=3)
    max_size = models.PositiveIntegerField(default=10)
    desired_size = models.PositiveIntegerField(default=3)
    status = models.CharField(
        max_length=10, choices=Cluster.Status.choices, default=Cluster.Status.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "name"],
                condition=~Q(status="deleted"),
                name="unique_live_pool_name_per_cluster",
            ),
            models.CheckConstraint(
                condition=Q(min_size__lte=models.F("max_size")), name="pool_min_le_max"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cluster_id}/{self.name}"


class ResourceRecord(models.Model):
    """The resource ledger: one AWS resource a provisioning step made for a cluster."""

    cluster = models.ForeignKey(Cluster, models.CASCADE, related_name="resources")
    # A stable logical name within the cluster, e.g. "subnet/private/eu-central-1a".
    key = models.CharField(max_length=120)
    kind = models.CharField(max_length=40, help_text="vpc, subnet, nat_gateway, …")
    aws_id = models.CharField(max_length=300, help_text="Id or ARN, as AWS names it.")
    step = models.CharField(max_length=60)
    data = models.JSONField(default=dict, blank=True, help_text="What later steps need: DNS names…")
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "key"],
                condition=Q(deleted_at__isnull=True),
                name="one_live_record_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.key} {self.aws_id}"

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


class Event(models.Model):
    """Something that happened to a cluster. Stored first, then pushed (clusters/events.py)."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status"
        STEP = "step", "Provisioning step"
        RESOURCE = "resource", "AWS resource"
        SCALE = "scale", "Scaling"
        HEALTH = "health", "Health"
        ALERT = "alert", "Alert"

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    id = models.BigAutoField(primary_key=True)
    cluster = models.ForeignKey(Cluster, models.CASCADE, related_name="events")
    # Denormalized so an organization's stream is one indexed query.
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    step = models.CharField(max_length=60, blank=True)
    message = models.TextField()
    aws_id = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["cluster", "id"]),
            models.Index(fields=["organization", "id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.cluster_id} {self.kind}: {self.message}"
