"""Alerts, silences, per-cluster Alertmanager receiver tokens, notification channels, deliveries."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.crypto import EncryptedTextField
from accounts.models import Organization, User
from clusters.models import Cluster
from monitoring.egress import validate_webhook_url


class AlertQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> AlertQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(organization__memberships__user=user)

    def firing(self) -> AlertQuerySet:
        return self.filter(status=Alert.Status.FIRING)


class Alert(models.Model):
    """Something wrong with a cluster. One open alert per (cluster, fingerprint)."""

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        # Declared from most to least severe: at_or_below() relies on this order.
        CRITICAL = "critical", "Critical"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

        @classmethod
        def at_or_below(cls, severity: str) -> list[str]:
            """This severity and every less severe one (critical → all three)."""
            values = list(cls.values)
            return values[values.index(severity):] if severity in values else []

    class Source(models.TextChoices):
        HEALTH = "health", "Health check"
        ALERTMANAGER = "alertmanager", "Alertmanager"

    fingerprint = models.CharField(max_length=200)
    cluster = models.ForeignKey(Cluster, models.CASCADE, related_name="alerts")
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="alerts")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    summary = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FIRING)
    source = models.CharField(max_length=15, choices=Source.choices, default=Source.HEALTH)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            # The dedupe rule: the same fingerprint firing again updates the open alert.
            models.UniqueConstraint(
                fields=["cluster", "fingerprint"],
                condition=Q(status="firing"),
                name="one_firing_alert_per_fingerprint",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-starts_at"]),
            models.Index(fields=["cluster", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.fingerprint} ({self.status})"

    @property
    def is_firing(self) -> bool:
        return self.status == self.Status.FIRING

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def matching_labels(self) -> dict[str, str]:
        """The labels a silence matches against: the alert's own plus cluster and severity."""
        return {
            **{str(k): str(v) for k, v in self.labels.items()},
            "cluster": self.cluster_id,
            "severity": self.severity,
        }


class SilenceQuerySet(models.QuerySet):
    def active(self, at: datetime | None = None) -> SilenceQuerySet:
        at = at or timezone.now()
        return self.filter(starts_at__lte=at, ends_at__gt=at)

    def silencing(self, alert: Alert, at: datetime | None = None) -> list[Silence]:
        """The active silences that match this alert."""
        candidates = self.active(at).filter(organization_id=alert.organization_id)
        return [silence for silence in candidates if silence.matches(alert)]


class Silence(models.Model):
    """Mutes notifications of the alerts whose labels match every matcher, for a time."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="silences")
    cluster = models.ForeignKey(
        Cluster, models.CASCADE, null=True, blank=True, related_name="silences",
        help_text="Empty: every cluster of the organization.",
    )
    matchers = models.JSONField(default=dict, help_text="Label name → exact value; all must match.")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comment = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SilenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["organization", "ends_at"])]

    def __str__(self) -> str:
        return f"silence {self.matchers} until {self.ends_at:%Y-%m-%d %H:%M}"

    def matches(self, alert: Alert) -> bool:
        if alert.organization_id != self.organization_id:
            return False
        if self.cluster_id and alert.cluster_id != self.cluster_id:
            return False
        labels = alert.matching_labels()
        return all(labels.get(str(name)) == str(value) for name, value in self.matchers.items())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ClusterAlertReceiver(models.Model):
    """The bearer token a guest cluster's Alertmanager presents; only its hash is stored."""

    TOKEN_PREFIX = "hpa_am_"  # noqa: S105 - a public prefix that tells the token apart, not a secret

    cluster = models.OneToOneField(Cluster, models.CASCADE, related_name="alert_receiver")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    rotated_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"receiver {self.cluster_id} ({self.prefix}…)"

    @classmethod
    def rotate(cls, cluster: Cluster) -> str:
        """Make a new token for the cluster (the old one stops working) and return it, once."""
        token = cls.TOKEN_PREFIX + secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            cluster=cluster,
            defaults={
                "token_hash": hash_token(token),
                "prefix": token[: len(cls.TOKEN_PREFIX) + 4],
                "rotated_at": timezone.now(),
            },
        )
        return token

    def accepts(self, token: str) -> bool:
        return secrets.compare_digest(self.token_hash, hash_token(token))


class NotificationChannelQuerySet(models.QuerySet):
    def to_notify(self, alert: Alert) -> NotificationChannelQuerySet:
        """The org's active channels that want this alert now: its severity and event pass."""
        wanted_event = (
            Q(notify_on_firing=True) if alert.is_firing else Q(notify_on_resolved=True)
        )
        return self.filter(
            wanted_event,
            organization_id=alert.organization_id,
            is_active=True,
            min_severity__in=Alert.Severity.at_or_below(alert.severity),
        )


class NotificationChannel(models.Model):
    """Where an organization's alert notifications go: e-mail addresses or a signed webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    # The values are Alert.Severity's; the labels say what a channel then receives.
    MIN_SEVERITY_CHOICES = [
        (Alert.Severity.INFO.value, "All alerts (info and above)"),
        (Alert.Severity.WARNING.value, "Warning and critical"),
        (Alert.Severity.CRITICAL.value, "Critical only"),
    ]

    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="notification_channels"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    email_addresses = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(
        max_length=500, blank=True, validators=[validate_webhook_url],
        help_text="http(s) to a public address; checked again at every delivery.",
    )
    webhook_secret = EncryptedTextField(
        blank=True, help_text="Signs each body: X-Happa-Signature: sha256=<hex HMAC>."
    )
    min_severity = models.CharField(
        "minimum severity", max_length=10, choices=MIN_SEVERITY_CHOICES,
        default=Alert.Severity.INFO,
        help_text="Alerts less severe than this do not reach this channel.",
    )
    notify_on_firing = models.BooleanField("when an alert fires", default=True)
    notify_on_resolved = models.BooleanField("when an alert resolves", default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NotificationChannelQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "name"]

    def __str__(self) -> str:
        return f"{self.organization} · {self.name} ({self.kind})"

    @property
    def events_display(self) -> str:
        """Which alert changes reach the channel, for the channel list."""
        events = [name for name, wanted in (("firing", self.notify_on_firing),
                                            ("resolved", self.notify_on_resolved)) if wanted]
        return " and ".join(events) if events else "nothing"


class Delivery(models.Model):
    """One notification to one channel, with its attempts: the delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(NotificationChannel, models.CASCADE, related_name="deliveries")
    alert = models.ForeignKey(
        Alert, models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    event = models.CharField(max_length=30, help_text="alert.firing, alert.resolved, test")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.channel.name}: {self.status}"


class ClusterHealth(Cluster):
    """Every organization's clusters as ops see them in the admin: health and firing alerts."""

    class Meta:
        proxy = True
        verbose_name = "cluster health"
        verbose_name_plural = "cluster health (all organizations)"


class NodeCountSample(models.Model):
    """A cluster's node counts as the health poll saw them, written only when they change.

    The chart on the cluster page (monitoring/history.py) draws these as steps: a sample holds
    until the next one. Old samples are pruned by the poll, except each cluster's newest.
    """

    cluster = models.ForeignKey(Cluster, models.CASCADE, related_name="node_count_samples")
    at = models.DateTimeField(default=timezone.now)
    desired = models.PositiveIntegerField(help_text="Nodes the auto-scaling groups want.")
    in_service = models.PositiveIntegerField(
        help_text="Nodes in service that pass their EC2 status checks."
    )

    class Meta:
        ordering = ["cluster", "at", "id"]
        indexes = [models.Index(fields=["cluster", "at"])]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.at:%Y-%m-%d %H:%M}: {self.in_service}/{self.desired}"
