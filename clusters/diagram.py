"""The architecture diagram of one cluster, as server-rendered SVG, drawn from its resource ledger.

What the plan calls for is always drawn; what the ledger holds (a live ResourceRecord) is drawn
solid with its AWS id, what is still missing is drawn dashed and grey. So the same picture shows
provisioning filling in, and teardown emptying out.

Ledger records are matched by kind and by the words of their logical key, following the ledger's
convention `<kind>/<role>/<availability zone>` (the engine's keys: "subnet/private/eu-central-1a",
"nat_gateway/eu-central-1b", "bastion/eu-central-1a", "load_balancer/api",
"auto_scaling_group/master", "auto_scaling_group/worker/<pool>"), with the record's `data["az"]` as
a fallback for the zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from clusters.models import Cluster, NodePool, ResourceRecord

# Machines count as there once their auto-scaling group exists (a launch template is not enough).
INSTANCE_GROUP_KINDS = ("auto_scaling_group", "autoscaling_group", "asg")
AZ_WIDTH = 250
MARGIN = 16


@dataclass
class Part:
    """One box of the drawing: what it is, and the ledger record that proves it exists."""

    label: str
    record: ResourceRecord | None

    @property
    def present(self) -> bool:
        return self.record is not None


def _words(record: ResourceRecord) -> set[str]:
    return {w for w in re.split(r"[/:.\s]+", record.key.lower()) if w} | {
        record.key.lower().rsplit("/", 1)[-1]
    }


def _zone(record: ResourceRecord) -> str:
    data = record.data if isinstance(record.data, dict) else {}
    zone = data.get("az") or data.get("availability_zone") or ""
    return zone or next((w for w in record.key.lower().split("/") if re.search(r"\d[a-z]$", w)), "")


def _kind_is(record: ResourceRecord, *kinds: str) -> bool:
    kind = record.kind.lower()
    return any(kind == k or kind.startswith(k) for k in kinds)


def _find(
    records: Iterable[ResourceRecord],
    kinds: tuple[str, ...],
    *,
    words: tuple[str, ...] = (),
    zone: str = "",
    without: tuple[str, ...] = (),
) -> ResourceRecord | None:
    for record in records:
        if not _kind_is(record, *kinds):
            continue
        record_words = _words(record)
        if any(w not in record_words for w in words) or any(w in record_words for w in without):
            continue
        if zone and _zone(record) != zone:
            continue
        return record
    return None


def _box(x: float, y: float, w: float, h: float, part: Part, css: str, sub: str = "") -> str:
    state = "present" if part.present else "planned"
    if part.record:
        title = f"{part.label}: {part.record.aws_id}"
    else:
        title = f"{part.label} (not created yet)"
    if sub:
        title += f" — {sub}"
    detail = part.record.aws_id if part.record else "planned"
    text_y = y + 18
    lines = [
        f'<g class="part {css} {state}" data-state="{state}" data-part="{escape(part.label)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>',
        f'<text x="{x + 8}" y="{text_y}" class="label">{escape(part.label)}</text>',
    ]
    # Small boxes have room for one more line: the AWS id once it exists, else "planned".
    if sub and h >= 56:
        short = escape(_short(sub, w))
        lines.append(f'<text x="{x + 8}" y="{text_y + 15}" class="sub">{short}</text>')
    if h >= 40:
        lines.append(
            f'<text x="{x + 8}" y="{y + h - 8}" class="awsid">{escape(_short(detail, w))}</text>'
        )
    lines.append("</g>")
    return "\n".join(lines)


def _short(text: str, width: float) -> str:
    limit = max(8, int(width / 6.5))
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def render_diagram(
    cluster: Cluster,
    *,
    resources: list[ResourceRecord] | None = None,
    pools: list[NodePool] | None = None,
) -> SafeString:
    """The SVG markup of the cluster's architecture, safe to place in a template as is."""
    if resources is None:
        resources = list(cluster.resources.filter(deleted_at=None))
    else:
        resources = [r for r in resources if r.deleted_at is None]
    if pools is None:
        pools = list(cluster.node_pools.exclude(status=Cluster.Status.DELETED))
    zones = list(cluster.availability_zones) or [f"{cluster.region}a"]

    columns = len(zones)
    width = max(3 * AZ_WIDTH, columns * AZ_WIDTH) + 2 * MARGIN + 20
    vpc_x, vpc_y = MARGIN, 118
    inner_w = width - 2 * MARGIN
    az_w = (inner_w - 20) / columns
    masters_per_zone = [0] * columns
    for i in range(cluster.master_count):
        masters_per_zone[i % columns] += 1
    pool_row_h = 62
    az_h = 300
    vpc_h = 34 + az_h + 14 + pool_row_h + 18
    height = vpc_y + vpc_h + MARGIN

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="diagram-{cluster.id}-title" '
        f'class="architecture" data-cluster="{escape(cluster.id)}">',
        f'<title id="diagram-{cluster.id}-title">Architecture of {escape(cluster.name)}: '
        f"{len(resources)} AWS resources exist</title>",
    ]

    # Outside the VPC: the DNS zone and the two load balancers users reach.
    dns = Part("DNS zone", _find(resources, ("hosted_zone", "route53", "dns")))
    api_lb = Part(
        "API load balancer",
        _find(resources, ("load_balancer", "lb", "elb"), words=("api",)),
    )
    ingress_lb = Part(
        "Ingress load balancer",
        _find(resources, ("load_balancer", "lb", "elb"), words=("ingress",)),
    )
    igw = Part("Internet gateway", _find(resources, ("internet_gateway", "igw")))
    top_w = (inner_w - 3 * 12) / 4
    for i, (part, css, sub) in enumerate(
        [
            (dns, "dns", cluster.dns_zone),
            (api_lb, "lb", f"{cluster.api_hostname}:443"),
            (ingress_lb, "lb", f"{cluster.ingress_hostname}:80/443"),
            (igw, "igw", "public subnets' way out"),
        ]
    ):
        out.append(_box(MARGIN + i * (top_w + 12), MARGIN, top_w, 72, part, css, sub))

    vpc = Part(f"VPC {cluster.vpc_cidr}", _find(resources, ("vpc",)))
    out.append(_box(vpc_x, vpc_y, inner_w, vpc_h, vpc, "vpc"))

    for index, zone in enumerate(zones):
        x = vpc_x + 10 + index * az_w
        y = vpc_y + 34
        out.append(
            f'<g class="az"><rect x="{x + 4}" y="{y}" width="{az_w - 8}" height="{az_h}" rx="8"/>'
            f'<text x="{x + 12}" y="{y + 16}" class="label">{escape(zone)}</text></g>'
        )
        box_x, box_w = x + 12, az_w - 24
        public = Part(
            "Public subnet", _find(resources, ("subnet",), words=("public",), zone=zone)
        )
        out.append(_box(box_x, y + 26, box_w, 124, public, "subnet public"))
        nat = Part("NAT gateway", _find(resources, ("nat",), zone=zone))
        bastion = Part(
            "Bastion",
            _find(resources, ("bastion", "instance"), words=("bastion",), zone=zone)
            or _find(resources, ("bastion",), zone=zone),
        )
        half = (box_w - 24) / 2
        out.append(_box(box_x + 8, y + 50, half, 46, bastion, "bastion", "SSH, port 22"))
        out.append(_box(box_x + 16 + half, y + 50, half, 46, nat, "nat"))

        private = Part(
            "Private subnet", _find(resources, ("subnet",), words=("private",), zone=zone)
        )
        out.append(_box(box_x, y + 160, box_w, 130, private, "subnet private"))
        if masters_per_zone[index]:
            masters = Part(
                f"Master ×{masters_per_zone[index]}",
                _find(resources, INSTANCE_GROUP_KINDS, words=("master",), zone=zone)
                or _find(resources, INSTANCE_GROUP_KINDS, words=("master",)),
            )
            out.append(
                _box(box_x + 8, y + 186, box_w - 16, 46, masters, "master", "kube-apiserver, etcd")
            )
        out.append(
            f'<text x="{box_x + 8}" y="{y + 258}" class="sub">workers of every pool</text>'
        )

    pool_y = vpc_y + 34 + az_h + 14
    out.append(
        f'<text x="{vpc_x + 14}" y="{pool_y - 2}" class="sub">'
        "Node pools (auto-scaling groups over the private subnets)</text>"
    )
    pool_w = (inner_w - 20 - 10 * max(0, len(pools) - 1)) / max(1, len(pools))
    for i, pool in enumerate(pools):
        record = _find(
            resources,
            INSTANCE_GROUP_KINDS,
            words=(pool.name.lower(),),
            without=("master", "bastion"),
        )
        part = Part(f"Pool {pool.name}", record)
        sub = f"{pool.instance_type} · {pool.min_size}–{pool.max_size} (want {pool.desired_size})"
        x = vpc_x + 10 + i * (pool_w + 10)
        out.append(_box(x, pool_y + 4, pool_w, pool_row_h - 8, part, "pool", sub))

    out.append("</svg>")
    return mark_safe("\n".join(out))  # noqa: S308 (every interpolated value is escaped above)
