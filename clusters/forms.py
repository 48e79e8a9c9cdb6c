"""The web UI's forms: they shape input into specs; the rules live in clusters/operations.py.

Forms check only what a browser can get wrong on its own (types, required fields, choices offered
on the page). Everything else — quota, catalog policy, names already taken — is the domain's
`InvalidRequest`, which `apply_invalid_request` maps back onto the form so the user sees it inline.
"""

from __future__ import annotations

import re

from django import forms

from clusters import catalog
from clusters.catalog import DEFAULT_INSTANCE_TYPE, OfferedType
from clusters.models import Cluster, NodePool
from clusters.specs import ClusterSpec, InvalidRequest, NodePoolSpec

# Fewer workers than this and one node failure can leave workloads without room to move.
SAFE_WORKER_COUNT = 3


def apply_invalid_request(form: forms.Form, error: InvalidRequest) -> None:
    """Put the domain's messages on the matching fields; unknown keys become form-wide errors.

    Keys may name nested fields ("node_pools[0].instance_type", "node_pools.0.min_size"): the last
    segment is matched against the form's fields.
    """
    for key, messages in error.fields.items():
        segment = re.split(r"[.\[\]]+", key.strip(".[]"))[-1] if key else ""
        if segment == "availability_zones":
            segment = "availability_zone_count"
        if segment == "release":
            segment = "kubernetes_version"
        target = segment if segment in form.fields else None
        for message in messages:
            form.add_error(target, message)


def instance_type_label(offered: OfferedType) -> str:
    price = offered.monthly_price_usd
    price_text = f"${price:.0f}/month" if price is not None else "price unknown"
    return f"{offered.name} · {offered.vcpus} vCPU · {offered.memory_gib:g} GiB · {price_text}"


class InstanceTypeField(forms.ChoiceField):
    """A radio choice over the catalog; the template renders recommended and other types apart."""

    widget = forms.RadioSelect

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 (Django's signature)
        super().__init__(*args, **kwargs)
        self.offered: list[OfferedType] = []

    def load(self, offered: list[OfferedType]) -> None:
        self.offered = offered
        self.choices = [(t.name, instance_type_label(t)) for t in offered]


class PoolSizeRangeMixin:
    """Forms with min_size and max_size: the maximum may not be below the minimum (the domain
    rules say so too; this puts the message beside the field before the plan is asked)."""

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_size"), data.get("max_size")
        if low is not None and high is not None and low > high:
            self.add_error("max_size", "Must be at least the minimum.")
        return data


class CreateClusterForm(PoolSizeRangeMixin, forms.Form):
    name = forms.CharField(
        max_length=100,
        min_length=3,
        help_text="3 to 100 characters; unique among your organization's clusters.",
    )
    region = forms.ChoiceField()
    availability_zone_count = forms.TypedChoiceField(
        label="Availability zones",
        coerce=int,
        choices=[(1, "1"), (2, "2"), (3, "3")],
        initial=2,
        help_text="Each zone gets a public and a private subnet, a NAT gateway and a bastion.",
    )
    kubernetes_version = forms.ChoiceField(label="Kubernetes version")
    instance_type = InstanceTypeField(label="Worker instance type")
    min_size = forms.IntegerField(label="Minimum workers", min_value=0, initial=3)
    max_size = forms.IntegerField(label="Maximum workers", min_value=1, initial=3)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 (Django's signature)
        super().__init__(*args, **kwargs)
        regions = catalog.offered_regions()
        self.fields["region"].choices = [(r, r) for r in regions]
        self.fields["region"].initial = regions[0]
        releases = catalog.offered_releases()
        self.fields["kubernetes_version"].choices = [
            (r.version, f"{r.version} (default)" if r.is_default else r.version) for r in releases
        ]
        default = catalog.default_release() or (releases[0] if releases else None)
        self.fields["kubernetes_version"].initial = default.version if default else None
        # The types on offer depend on the region: the chosen one, else the first.
        region = self.data.get(self.add_prefix("region")) if self.is_bound else None
        instance_type = self.fields["instance_type"]
        instance_type.load(catalog.types_offered(region if region in regions else regions[0]))
        names = [t.name for t in instance_type.offered]
        instance_type.initial = DEFAULT_INSTANCE_TYPE if DEFAULT_INSTANCE_TYPE in names else (
            names[0] if names else None
        )

    @property
    def instance_type_choices(self) -> dict:
        """The catalog split for the page: recommended types first, the rest behind "show all"."""
        types = self.fields["instance_type"].offered
        selected = self["instance_type"].value()
        other = [(t.name, t) for t in types if not t.is_recommended]
        return {
            "recommended": [(t.name, t) for t in types if t.is_recommended],
            "other": other,
            "selected_is_other": any(name == selected for name, _ in other),
        }

    def to_spec(self) -> ClusterSpec:
        data = self.cleaned_data
        return ClusterSpec(
            name=data["name"],
            region=data["region"],
            availability_zone_count=data["availability_zone_count"],
            kubernetes_version=data["kubernetes_version"],
            node_pools=[
                NodePoolSpec(
                    name="default",
                    instance_type=data["instance_type"],
                    min_size=data["min_size"],
                    max_size=data["max_size"],
                )
            ],
        )


class ScalePoolForm(PoolSizeRangeMixin, forms.Form):
    """Scale a pool or change its instance type; below the safe size it asks for a confirmation."""

    min_size = forms.IntegerField(label="Minimum workers", min_value=0)
    max_size = forms.IntegerField(label="Maximum workers", min_value=1)
    instance_type = forms.ChoiceField(label="Instance type")
    confirm_small = forms.BooleanField(
        required=False,
        label=f"I understand that fewer than {SAFE_WORKER_COUNT} workers may not keep my "
        "workloads running when a node fails",
    )

    def __init__(self, *args, pool: NodePool, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("prefix", f"pool-{pool.pk}")
        kwargs.setdefault(
            "initial",
            {"min_size": pool.min_size, "max_size": pool.max_size,
             "instance_type": pool.instance_type},
        )
        super().__init__(*args, **kwargs)
        self.pool = pool
        names = [t.name for t in catalog.types_offered(pool.cluster.region)]
        if pool.instance_type not in names:
            names.insert(0, pool.instance_type)
        self.fields["instance_type"].choices = [(n, n) for n in names]

    @property
    def needs_confirmation(self) -> bool:
        return "confirm_small" in self.errors

    def clean(self) -> dict:
        data = super().clean()
        low = data.get("min_size")
        if low is not None and low < SAFE_WORKER_COUNT and not data.get("confirm_small"):
            self.add_error(
                "confirm_small",
                f"Scaling below {SAFE_WORKER_COUNT} workers can leave workloads without room when "
                "a node fails. Tick the box to confirm.",
            )
        return data

    def scale_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "min_size": data["min_size"],
            "max_size": data["max_size"],
            "instance_type": data["instance_type"],
        }


class AddPoolForm(PoolSizeRangeMixin, forms.Form):
    name = forms.SlugField(max_length=30, help_text="Lowercase letters, digits and dashes.")
    instance_type = forms.ChoiceField()
    min_size = forms.IntegerField(label="Minimum workers", min_value=0, initial=3)
    max_size = forms.IntegerField(label="Maximum workers", min_value=1, initial=10)

    def __init__(self, *args, cluster: Cluster, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("prefix", "add-pool")
        super().__init__(*args, **kwargs)
        types = catalog.types_offered(cluster.region)
        self.fields["instance_type"].choices = [(t.name, instance_type_label(t)) for t in types]
        names = [t.name for t in types]
        if DEFAULT_INSTANCE_TYPE in names:
            self.fields["instance_type"].initial = DEFAULT_INSTANCE_TYPE

    def to_spec(self) -> NodePoolSpec:
        data = self.cleaned_data
        return NodePoolSpec(
            name=data["name"],
            instance_type=data["instance_type"],
            min_size=data["min_size"],
            max_size=data["max_size"],
        )


class DeleteClusterForm(forms.Form):
    confirm_name = forms.CharField(label="Type the cluster's name to confirm")

    def __init__(self, *args, cluster: Cluster, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("prefix", "delete")
        super().__init__(*args, **kwargs)
        self.cluster = cluster

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.cluster.name:
            raise forms.ValidationError(
                f"That is not this cluster's name. Type “{self.cluster.name}” to delete it."
            )
        return value


class ClusterListFilter(forms.Form):
    """The list page's search, status filter, sort and page: bad values fall back to defaults."""

    SORTS = {
        "newest": ("-created_at", "-id"),
        "oldest": ("created_at", "id"),
        "name": ("name", "id"),
        "-name": ("-name", "-id"),
        "status": ("status", "name", "id"),
        "region": ("region", "name", "id"),
    }
    SORT_LABELS = {
        "newest": "Newest first",
        "oldest": "Oldest first",
        "name": "Name A–Z",
        "-name": "Name Z–A",
        "status": "Status",
        "region": "Region",
    }

    q = forms.CharField(required=False, label="Search", max_length=100)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status")]
        + [c for c in Cluster.Status.choices if c[0] != Cluster.Status.DELETED],
    )
    sort = forms.ChoiceField(required=False, choices=list(SORT_LABELS.items()))
    page = forms.IntegerField(required=False, min_value=1)

    def values(self) -> dict:
        """Cleaned values, with defaults in place of anything invalid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "status": data.get("status") or "",
            "sort": data.get("sort") or "newest",
            "page": data.get("page") or 1,
        }
