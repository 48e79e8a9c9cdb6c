"""The ops panel for clusters and the catalog they are launched from.

Clusters are read-only here: their desired state changes only through clusters/operations.py (the
same rules as for customers), which the actions below call. Deleting a row from the admin would
orphan its AWS resources, so it is not offered; "force delete" asks the engine to tear down.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from accounts.admin import AuditedAdmin
from accounts.audit import record_audit
from clusters import catalog, operations
from clusters.models import (
    CatalogPolicy,
    Cluster,
    InstanceType,
    KubernetesRelease,
    NodePool,
    ResourceRecord,
)
from clusters.specs import InvalidRequest

RECENT_EVENTS = 25


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NodePoolInline(ReadOnlyInline):
    model = NodePool
    fields = ["name", "instance_type", "min_size", "max_size", "desired_size", "status",
              "updated_at"]
    readonly_fields = fields


class ResourceRecordInline(ReadOnlyInline):
    model = ResourceRecord
    fields = ["key", "kind", "aws_id", "step", "created_at", "deleted_at"]
    readonly_fields = fields
    verbose_name = "AWS resource (ledger)"
    verbose_name_plural = "AWS resources (ledger)"


def _refusal(error: InvalidRequest) -> str:
    return " ".join(message for messages_ in error.fields.values() for message in messages_)


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "organization", "status", "health", "region", "created_at"]
    list_filter = ["status", "health", "region", "organization"]
    search_fields = ["id", "name", "organization__slug", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    inlines = [NodePoolInline, ResourceRecordInline]
    actions = ["retry_provisioning", "force_delete"]
    exclude = ["ca_private_key", "lock_token"]
    readonly_fields = [
        "id", "organization", "name", "region", "availability_zones", "release", "master_count",
        "vpc_cidr", "status", "status_reason", "health", "current_step", "steps_done",
        "steps_total", "locked_until", "last_reconciled_at", "ca_certificate", "created_by",
        "created_at", "updated_at", "deleted_at", "recent_events",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # clusters are launched through the rules: UI, API or `manage.py cluster`

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # would orphan AWS resources; "force delete" tears them down instead

    @admin.display(description="Recent events")
    def recent_events(self, obj: Cluster) -> str:
        events = obj.events.order_by("-id")[:RECENT_EVENTS]
        if not events:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.level, e.step, e.message, e.aws_id)
             for e in events),
        )
        return format_html(
            "<table><tr><th>Time</th><th>Level</th><th>Step</th><th>Message</th>"
            "<th>AWS id</th></tr>{}</table>", rows
        )

    @admin.action(description="Retry provisioning of the selected failed clusters")
    def retry_provisioning(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset.select_related("organization"):
            try:
                operations.retry_provisioning(cluster, user=request.user)
            except InvalidRequest as error:
                self.message_user(request, f"{cluster.id}: {_refusal(error)}", messages.ERROR)
                continue
            record_audit("admin.cluster.retried", organization=cluster.organization,
                         request=request, target=cluster.id, status=cluster.status)
            self.message_user(request, f"{cluster.id}: retrying ({cluster.status}).")

    @admin.action(description="Force delete the selected clusters (tear down in AWS)")
    def force_delete(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset.select_related("organization"):
            if cluster.status == Cluster.Status.DELETED:
                self.message_user(request, f"{cluster.id}: already deleted.", messages.WARNING)
                continue
            if cluster.status == Cluster.Status.DELETING:
                # Already deleting, perhaps stuck: run the teardown again now.
                with transaction.atomic():
                    operations.enqueue_reconcile(cluster.id)
            else:
                operations.request_cluster_deletion(cluster, user=request.user)
            record_audit("admin.cluster.force_deleted", organization=cluster.organization,
                         request=request, target=cluster.id, name=cluster.name)
            self.message_user(request, f"{cluster.id}: deletion requested.")


# --- The catalog ------------------------------------------------------------------------------


@admin.register(InstanceType)
class InstanceTypeAdmin(AuditedAdmin):
    list_display = ["name", "vcpus", "memory_gib", "architecture", "hourly_price_usd",
                    "price_source", "is_recommended", "region_list"]
    list_editable = ["is_recommended"]
    list_filter = ["is_recommended", "architecture"]
    search_fields = ["name"]
    actions = ["sync_from_ec2"]
    readonly_fields = ["updated_at"]

    @admin.display(description="Memory (GiB)", ordering="memory_mib")
    def memory_gib(self, obj: InstanceType) -> str:
        return f"{obj.memory_mib / 1024:g}"

    @admin.display(description="Regions")
    def region_list(self, obj: InstanceType) -> str:
        return ", ".join(obj.regions)

    @admin.action(description="Sync the whole catalog from EC2 (every offered region)")
    def sync_from_ec2(self, request: HttpRequest, queryset: QuerySet[InstanceType]) -> None:
        counts = catalog.sync_catalog()
        record_audit("admin.catalog.synced", organization=None, request=request,
                     target="instance types", regions=counts)
        summary = ", ".join(f"{region}: {count}" for region, count in counts.items())
        self.message_user(request, f"Catalog synced from EC2 ({summary} types).")


@admin.register(CatalogPolicy)
class CatalogPolicyAdmin(AuditedAdmin):
    list_display = ["__str__", "allow_other_types"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CatalogPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KubernetesReleaseForm(forms.ModelForm):
    class Meta:
        model = KubernetesRelease
        fields = ["version", "images", "is_default", "is_active"]

    def clean_images(self) -> dict:
        images = self.cleaned_data["images"] or {}
        if not isinstance(images, dict):
            raise forms.ValidationError(
                'Give a mapping of region to AMI id: {"eu-central-1": "ami-…"}.'
            )
        bad = [f"{region}: {image!r}" for region, image in images.items()
               if not (isinstance(image, str) and image.startswith("ami-"))]
        if bad:
            raise forms.ValidationError(f"These are not AMI ids (ami-…): {', '.join(bad)}.")
        return images

    def _get_validation_exclusions(self) -> set[str]:
        # "One default release" is kept by save_model, which unsets the old default first; the
        # constraint check would refuse the switch before it could happen.
        return {*super()._get_validation_exclusions(), "is_default"}

    def clean(self) -> dict:
        data = super().clean()
        if data.get("is_default") and not data.get("is_active"):
            raise forms.ValidationError("The default release must be active.")
        return data


@admin.register(KubernetesRelease)
class KubernetesReleaseAdmin(AuditedAdmin):
    form = KubernetesReleaseForm
    list_display = ["version", "is_default", "is_active", "image_regions", "created_at"]
    list_filter = ["is_active", "is_default"]

    @admin.display(description="Node images for")
    def image_regions(self, obj: KubernetesRelease) -> str:
        return ", ".join(sorted(obj.images or {})) or "—"

    def save_model(self, request: HttpRequest, obj: KubernetesRelease, form: Any,
                   change: bool) -> None:
        with transaction.atomic():
            if obj.is_default:
                # One default at a time (a constraint): the new one takes over.
                KubernetesRelease.objects.exclude(pk=obj.pk).filter(is_default=True).update(
                    is_default=False
                )
            super().save_model(request, obj, form, change)
