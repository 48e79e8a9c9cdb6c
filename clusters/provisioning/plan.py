"""The resource plan of a cluster spec: what will be created in AWS, and what it costs a month.

Used by the create form's live preview, the API's dry run and the engine's progress ("step 7 of
19"). `plan_cluster` raises InvalidRequest for a spec the rules refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import Organization
from clusters.specs import ClusterSpec

HOURS_PER_MONTH = Decimal("730")


@dataclass
class PlannedResource:
    kind: str  # "vpc", "subnet", "nat_gateway", "bastion", "load_balancer", "dns_record", …
    name: str  # the Name tag it will carry, e.g. "x7k2p-private-eu-central-1a"
    availability_zone: str = ""
    detail: str = ""


@dataclass
class ClusterPlan:
    resources: list[PlannedResource] = field(default_factory=list)
    hourly_cost_usd: Decimal = Decimal("0")
    dns_names: list[str] = field(default_factory=list)

    @property
    def monthly_cost_usd(self) -> Decimal:
        return (self.hourly_cost_usd * HOURS_PER_MONTH).quantize(Decimal("0.01"))


def plan_cluster(organization: Organization, spec: ClusterSpec) -> ClusterPlan:
    raise NotImplementedError("lands with the catalog and launch rules")
