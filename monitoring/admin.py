"""The ops panel's monitoring: alerts, silences, channels, deliveries and cross-org health."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from monitoring import alerts as alert_actions
from monitoring.models import (
    Alert,
    ClusterAlertReceiver,
    ClusterHealth,
    Delivery,
    NotificationChannel,
    Silence,
)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["summary", "cluster", "organization", "severity", "status", "source",
                    "starts_at", "ends_at", "acknowledged_at"]
    list_filter = ["status", "severity", "source", "organization"]
    search_fields = ["summary", "fingerprint", "cluster__id", "cluster__name", "organization__slug"]
    date_hierarchy = "starts_at"
    list_select_related = ["cluster", "organization"]
    raw_id_fields = ["cluster", "acknowledged_by"]
    readonly_fields = ["fingerprint", "labels", "starts_at", "ends_at", "updated_at"]
    actions = ["resolve_selected"]

    @admin.action(description="Resolve the selected firing alerts")
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        resolved = 0
        for alert in queryset.filter(status=Alert.Status.FIRING).select_related("cluster"):
            resolved += alert_actions.resolve_alert(
                alert.cluster, fingerprint=alert.fingerprint
            ) is not None
        self.message_user(request, f"Resolved {resolved} alert(s).")


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "cluster", "starts_at", "ends_at", "created_by",
                    "is_active"]
    list_filter = ["organization"]
    search_fields = ["comment", "organization__slug", "cluster__id"]
    raw_id_fields = ["cluster", "created_by"]
    list_select_related = ["organization", "cluster", "created_by"]

    @admin.display(boolean=True)
    def is_active(self, silence: Silence) -> bool:
        return silence.starts_at <= timezone.now() < silence.ends_at


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default
    list_display = ["name", "organization", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active", "organization"]
    search_fields = ["name", "organization__slug", "webhook_url"]
    exclude = ["webhook_secret"]  # write-only: set by the organization's admins on their page


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "event", "status", "attempts", "response_status",
                    "delivered_at"]
    list_filter = ["status", "event", "channel__kind", "channel__organization"]
    search_fields = ["channel__name", "last_error"]
    list_select_related = ["channel"]
    raw_id_fields = ["alert", "channel"]
    readonly_fields = ["payload", "attempts", "response_status", "last_error", "delivered_at"]


@admin.register(ClusterAlertReceiver)
class ClusterAlertReceiverAdmin(admin.ModelAdmin):
    list_display = ["cluster", "prefix", "rotated_at", "last_received_at"]
    search_fields = ["cluster__id", "cluster__name"]
    readonly_fields = ["cluster", "token_hash", "prefix", "rotated_at", "last_received_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are made by `rotate_alert_receiver_token` or the cluster page


@admin.register(ClusterHealth)
class ClusterHealthAdmin(admin.ModelAdmin):
    """Cross-organization health: worst first, with the number of firing alerts."""

    list_display = ["name", "id", "organization", "status", "health", "firing_alerts",
                    "last_reconciled_at"]
    list_filter = ["health", "status", "organization"]
    search_fields = ["id", "name", "organization__slug"]
    list_select_related = ["organization"]
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super().get_queryset(request)
            .live()
            .annotate(firing=Count("alerts", filter=Q(alerts__status=Alert.Status.FIRING)))
            .order_by("-firing", "health", "name")
        )

    @admin.display(ordering="firing", description="firing alerts")
    def firing_alerts(self, cluster: ClusterHealth) -> int:
        return cluster.firing

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
