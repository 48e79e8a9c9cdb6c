"""The instance-type catalog and the Kubernetes releases that clusters are launched from.

Instance types come from EC2 (`describe_instance_type_offerings` says which types a region offers,
`describe_instance_types` their vCPUs, memory and architecture) and are cached as InstanceType rows:
`sync_instance_types(region)` refreshes them; `sync_catalog()` refreshes every offered region
(manage.py sync_catalog, or a daily beat entry calling it). Prices come from the AWS Pricing API
when it answers, otherwise from the table shipped in clusters/data/prices.csv (source and date in
its header). An empty catalog is filled from that table on first use, so a fresh install can
launch clusters before anyone ran a sync.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from clusters.models import CatalogPolicy, InstanceType, KubernetesRelease
from clusters.provisioning.aws import aws_client, is_sandbox

log = logging.getLogger(__name__)

PRICE_TABLE = Path(__file__).parent / "data" / "prices.csv"
PRICE_TABLE_SOURCE = "shipped table (AWS on-demand list prices, see clusters/data/prices.csv)"
PRICING_API_SOURCE = "AWS Pricing API"
HOURS_PER_MONTH = Decimal("730")  # AWS's own convention for monthly estimates (24 × 365 / 12)

# The regions customers may launch in unless settings.HAPPA_REGIONS says otherwise: those the
# shipped price table covers.
DEFAULT_REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-west-2")

# Ops can change the recommended flag per row in the ops panel; these are the defaults a sync sets
# on types it sees for the first time. General purpose first: Happa's create form defaulted to
# m5.xlarge.
DEFAULT_INSTANCE_TYPE = "m5.xlarge"
DEFAULT_RECOMMENDED = (
    "m5.xlarge",
    "m5.2xlarge",
    "m6i.xlarge",
    "m6i.2xlarge",
    "c5.2xlarge",
    "c6i.2xlarge",
    "r5.xlarge",
    "r6i.xlarge",
)

# Machines Happa itself runs for every cluster (not chosen by the customer); the engine reads the
# same settings with the same defaults (clusters/provisioning/control_plane.py, bastions.py).
MASTER_INSTANCE_TYPE_DEFAULT = "m5.large"
BASTION_INSTANCE_TYPE_DEFAULT = "t3.micro"

# In the sandbox AWS every region has moto's "amazon-eks-node-linux" image: seed_releases uses it.
# On real AWS ops enter each release's images in the ops panel.
SANDBOX_NODE_IMAGE = "ami-ekslinux"

# Releases a fresh install offers (manage.py seed_releases); 1.31.4 is the default.
SEED_RELEASES = ("1.30.8", "1.31.4", "1.32.0")
SEED_DEFAULT_RELEASE = "1.31.4"

AZ_CACHE_SECONDS = 600


def master_instance_type() -> str:
    return getattr(settings, "HAPPA_MASTER_INSTANCE_TYPE", MASTER_INSTANCE_TYPE_DEFAULT)


def bastion_instance_type() -> str:
    return getattr(settings, "HAPPA_BASTION_INSTANCE_TYPE", BASTION_INSTANCE_TYPE_DEFAULT)


def offered_regions() -> list[str]:
    return list(getattr(settings, "HAPPA_REGIONS", None) or DEFAULT_REGIONS)


# --- The shipped price table ------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    name: str
    region: str
    hourly_usd: Decimal
    vcpus: int
    memory_mib: int
    architecture: str


@lru_cache(maxsize=1)
def price_table() -> dict[tuple[str, str], TableRow]:
    """(instance type, region) → row of clusters/data/prices.csv."""
    with PRICE_TABLE.open() as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        rows = [
            TableRow(
                name=row["instance_type"],
                region=row["region"],
                hourly_usd=Decimal(row["hourly_usd"]),
                vcpus=int(row["vcpus"]),
                memory_mib=int(row["memory_mib"]),
                architecture=row["architecture"],
            )
            for row in csv.DictReader(lines)
        ]
    return {(row.name, row.region): row for row in rows}


def table_price(name: str, region: str) -> Decimal | None:
    row = price_table().get((name, region))
    return row.hourly_usd if row else None


def load_price_table() -> int:
    """Fill the catalog from the shipped table alone (no AWS call). Returns rows written."""
    by_name: dict[str, list[TableRow]] = {}
    for row in price_table().values():
        by_name.setdefault(row.name, []).append(row)
    home = settings.AWS_DEFAULT_REGION
    with transaction.atomic():
        for name, rows in by_name.items():
            first = rows[0]
            InstanceType.objects.update_or_create(
                name=name,
                defaults={
                    "vcpus": first.vcpus,
                    "memory_mib": first.memory_mib,
                    "architecture": first.architecture,
                    "regions": sorted(row.region for row in rows),
                    "hourly_price_usd": table_price(name, home) or first.hourly_usd,
                    "price_source": PRICE_TABLE_SOURCE,
                },
                create_defaults={
                    "vcpus": first.vcpus,
                    "memory_mib": first.memory_mib,
                    "architecture": first.architecture,
                    "regions": sorted(row.region for row in rows),
                    "hourly_price_usd": table_price(name, home) or first.hourly_usd,
                    "price_source": PRICE_TABLE_SOURCE,
                    "is_recommended": name in DEFAULT_RECOMMENDED,
                },
            )
    return len(by_name)


def ensure_catalog() -> None:
    """An empty catalog (fresh install, no sync yet) is filled from the shipped table."""
    if not InstanceType.objects.exists():
        load_price_table()


# --- EC2 and the Pricing API --------------------------------------------------------------------


def _offered_type_names(ec2, region: str) -> set[str]:
    names: set[str] = set()
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    pages = paginator.paginate(
        LocationType="region", Filters=[{"Name": "location", "Values": [region]}]
    )
    for page in pages:
        names.update(offer["InstanceType"] for offer in page["InstanceTypeOfferings"])
    return names


def _describe_types(ec2, names: set[str]) -> dict[str, dict]:
    described: dict[str, dict] = {}
    ordered = sorted(names)
    # DescribeInstanceTypes takes at most 100 names per call.
    for start in range(0, len(ordered), 100):
        page = ec2.describe_instance_types(InstanceTypes=ordered[start : start + 100])
        for item in page["InstanceTypes"]:
            described[item["InstanceType"]] = item
    return described


def pricing_api_prices(region: str) -> dict[str, Decimal]:
    """On-demand Linux hourly prices of a region from the AWS Pricing API; {} when unreachable.

    The Pricing API exists on real AWS only (in us-east-1); the sandbox (moto) does not mock it,
    so there this answers {} and the shipped table is used.
    """
    if is_sandbox():
        return {}
    prices: dict[str, Decimal] = {}
    try:
        pricing = aws_client("pricing", "us-east-1")
        filters = [
            {"Type": "TERM_MATCH", "Field": field, "Value": value}
            for field, value in (
                ("regionCode", region),
                ("operatingSystem", "Linux"),
                ("tenancy", "Shared"),
                ("preInstalledSw", "NA"),
                ("capacitystatus", "Used"),
                ("licenseModel", "No License required"),
            )
        ]
        paginator = pricing.get_paginator("get_products")
        for page in paginator.paginate(ServiceCode="AmazonEC2", Filters=filters):
            for raw in page["PriceList"]:
                product = json.loads(raw)
                name = product["product"]["attributes"].get("instanceType")
                for term in product.get("terms", {}).get("OnDemand", {}).values():
                    for dimension in term["priceDimensions"].values():
                        usd = Decimal(dimension["pricePerUnit"].get("USD", "0"))
                        if name and usd > 0:
                            prices[name] = usd
    except (BotoCoreError, ClientError, KeyError, ValueError) as error:
        log.warning("AWS Pricing API not usable (%s); using the shipped price table", error)
        return {}
    return prices


def sync_instance_types(region: str) -> int:
    """Refresh the catalog rows of one region from EC2 (and prices). Returns types offered there."""
    ec2 = aws_client("ec2", region)
    offered = _offered_type_names(ec2, region)
    described = _describe_types(ec2, offered)
    api_prices = pricing_api_prices(region) if region == settings.AWS_DEFAULT_REGION else {}
    existing = {row.name: row for row in InstanceType.objects.all()}
    home = settings.AWS_DEFAULT_REGION
    new_rows, changed = [], []
    for name, item in described.items():
        architectures = item.get("ProcessorInfo", {}).get("SupportedArchitectures", ["x86_64"])
        row = existing.get(name)
        if row is None:
            row = InstanceType(name=name, is_recommended=name in DEFAULT_RECOMMENDED)
            new_rows.append(row)
        else:
            changed.append(row)
        row.vcpus = item["VCpuInfo"]["DefaultVCpus"]
        row.memory_mib = item["MemoryInfo"]["SizeInMiB"]
        row.architecture = architectures[0]
        row.regions = sorted(set(row.regions) | {region})
        if name in api_prices:
            row.hourly_price_usd, row.price_source = api_prices[name], PRICING_API_SOURCE
        elif table_price(name, home) is not None:
            row.hourly_price_usd, row.price_source = table_price(name, home), PRICE_TABLE_SOURCE
    # Types the region stopped offering lose the region; rows stay for clusters that use them.
    for name, row in existing.items():
        if name not in offered and region in row.regions:
            row.regions = [r for r in row.regions if r != region]
            changed.append(row)
    now = timezone.now()
    for row in changed:
        row.updated_at = now
    with transaction.atomic():
        InstanceType.objects.bulk_create(new_rows, batch_size=200)
        InstanceType.objects.bulk_update(
            changed,
            ["vcpus", "memory_mib", "architecture", "regions", "hourly_price_usd", "price_source",
             "updated_at"],
            batch_size=200,
        )
    return len(described)


def sync_catalog(regions: list[str] | None = None) -> dict[str, int]:
    """Refresh every offered region (a beat schedule can call this daily)."""
    return {region: sync_instance_types(region) for region in regions or offered_regions()}


def availability_zones(region: str) -> list[str]:
    """The region's available AZ names, sorted; cached for ten minutes."""
    key = f"catalog:azs:{settings.AWS_ENDPOINT_URL}:{region}"
    zones = cache.get(key)
    if zones is None:
        answer = aws_client("ec2", region).describe_availability_zones(
            Filters=[{"Name": "state", "Values": ["available"]}]
        )
        zones = sorted(zone["ZoneName"] for zone in answer["AvailabilityZones"])
        cache.set(key, zones, AZ_CACHE_SECONDS)
    return zones


# --- What customers may pick ----------------------------------------------------------------------


@dataclass(frozen=True)
class OfferedType:
    name: str
    vcpus: int
    memory_gib: Decimal
    architecture: str
    is_recommended: bool
    hourly_price_usd: Decimal | None
    price_source: str

    @property
    def monthly_price_usd(self) -> Decimal | None:
        if self.hourly_price_usd is None:
            return None
        return (self.hourly_price_usd * HOURS_PER_MONTH).quantize(Decimal("0.01"))


def hourly_price(instance_type: InstanceType, region: str) -> Decimal | None:
    """The row's price is its home region's; other regions use the shipped table if it has them."""
    if region != settings.AWS_DEFAULT_REGION:
        regional = table_price(instance_type.name, region)
        if regional is not None:
            return regional
    return instance_type.hourly_price_usd


def price_of(name: str, region: str, rows: dict[str, InstanceType] | None = None) -> Decimal:
    """Hourly price of a type by name (catalog, else table); 0 when unknown anywhere.

    `rows` are catalog rows by name loaded beforehand, for pages that price many clusters."""
    row = rows.get(name) if rows is not None else InstanceType.objects.filter(name=name).first()
    if row is not None:
        price = hourly_price(row, region)
        if price is not None:
            return price
    return table_price(name, region) or Decimal("0")


def price_lookup() -> Callable[[str, str], Decimal]:
    """`price_of` over the whole catalog loaded once: one query however many clusters it prices."""
    rows = {row.name: row for row in InstanceType.objects.all()}
    return lambda name, region: price_of(name, region, rows)


def _offered(row: InstanceType, region: str) -> OfferedType:
    return OfferedType(
        name=row.name,
        vcpus=row.vcpus,
        memory_gib=(Decimal(row.memory_mib) / 1024).quantize(Decimal("0.1")),
        architecture=row.architecture,
        is_recommended=row.is_recommended,
        hourly_price_usd=hourly_price(row, region),
        price_source=row.price_source,
    )


def _in_region(rows: list[InstanceType], region: str) -> list[InstanceType]:
    # JSON "contains" lookups are not portable to SQLite, and the catalog is small: filter here.
    return [row for row in rows if region in row.regions]


def types_offered(region: str) -> list[OfferedType]:
    """Types a customer may pick in the region: recommended first; others only if ops allow them."""
    ensure_catalog()
    rows = InstanceType.objects.all()
    if not CatalogPolicy.current().allow_other_types:
        rows = rows.filter(is_recommended=True)
    return [_offered(row, region) for row in _in_region(list(rows), region)]


def instance_type_problem(name: str, region: str) -> str | None:
    """Why `name` cannot be used in `region`, in the customer's words; None when it can."""
    ensure_catalog()
    row = InstanceType.objects.filter(name=name).first()
    if row is None:
        return f'"{name}" is not an EC2 instance type we know.'
    if region not in row.regions:
        return f"{name} is not offered in {region}."
    if not row.is_recommended and not CatalogPolicy.current().allow_other_types:
        recommended = ", ".join(
            InstanceType.objects.filter(is_recommended=True).values_list("name", flat=True)
        )
        return f"{name} is not one of the recommended instance types ({recommended})."
    return None


# --- Kubernetes releases ------------------------------------------------------------------------


def offered_releases() -> list[KubernetesRelease]:
    return list(KubernetesRelease.objects.filter(is_active=True))


def default_release() -> KubernetesRelease | None:
    return KubernetesRelease.objects.filter(is_active=True, is_default=True).first()


def node_image(release: KubernetesRelease, region: str) -> str | None:
    """The AMI nodes of this release boot from in the region; None until ops set one.

    The sandbox AWS stands in moto's "amazon-eks-node-linux" image for a region without one, so
    releases made before the sandbox images were set still launch there.
    """
    image = (release.images or {}).get(region)
    if image:
        return image
    return SANDBOX_NODE_IMAGE if is_sandbox() else None


def seed_releases() -> list[KubernetesRelease]:
    """Create the releases a fresh install offers, if absent; an existing default stays default."""
    images = {region: SANDBOX_NODE_IMAGE for region in offered_regions()} if is_sandbox() else {}
    has_default = KubernetesRelease.objects.filter(is_default=True).exists()
    created = []
    with transaction.atomic():
        for version in SEED_RELEASES:
            release, was_created = KubernetesRelease.objects.get_or_create(
                version=version,
                defaults={
                    "images": images,
                    "is_active": True,
                    "is_default": version == SEED_DEFAULT_RELEASE and not has_default,
                },
            )
            if was_created:
                created.append(release)
    return created
