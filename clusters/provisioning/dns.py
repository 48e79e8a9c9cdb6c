"""Route53: the cluster's hosted zone `<id>.<base domain>` with `api`, `ingress` and `*`, and
its delegation from the base zone when the account hosts that zone."""

from __future__ import annotations

from django.conf import settings

from clusters.provisioning.context import StepContext


def base_zone_id(ctx: StepContext) -> str | None:
    base = settings.HAPPA_BASE_DOMAIN.rstrip(".") + "."
    zones = ctx.client("route53").list_hosted_zones_by_name(DNSName=base, MaxItems="1")
    for zone in zones["HostedZones"]:
        if zone["Name"] == base:
            return zone["Id"].rsplit("/", 1)[-1]
    return None


def find_cluster_zone(ctx: StepContext) -> dict | None:
    name = ctx.cluster.dns_zone + "."
    zones = ctx.client("route53").list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    for zone in zones:
        if zone["Name"] == name:
            return zone
    return None


def ensure_dns(ctx: StepContext) -> None:
    route53 = ctx.client("route53")
    zone_record = ctx.recorded("hosted_zone")
    if zone_record is None:
        zone = find_cluster_zone(ctx)
        if zone is None:
            zone = route53.create_hosted_zone(
                Name=ctx.cluster.dns_zone,
                CallerReference=ctx.token("hosted_zone"),
                HostedZoneConfig={"Comment": f"Happa cluster {ctx.id}", "PrivateZone": False},
            )["HostedZone"]
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        route53.change_tags_for_resource(
            ResourceType="hostedzone",
            ResourceId=zone_id,
            AddTags=[{"Key": k, "Value": v} for k, v in ctx.tags(ctx.name("zone")).items()],
        )
        zone_record = ctx.record("hosted_zone", "hosted_zone", zone_id, name=ctx.cluster.dns_zone)
    if ctx.recorded("dns_records"):
        return
    zone_id = zone_record.aws_id
    api, ingress = ctx.recorded("load_balancer/api"), ctx.recorded("load_balancer/ingress")

    def alias(host: str, balancer) -> dict:  # noqa: ANN001
        return {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": host, "Type": "A", "AliasTarget": {
                "HostedZoneId": balancer.data["zone_id"], "DNSName": balancer.data["dns_name"],
                "EvaluateTargetHealth": False}}}

    # UPSERT makes these safe to send again after a run killed half-way.
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        alias(ctx.cluster.api_hostname, api),
        alias(ctx.cluster.ingress_hostname, ingress),
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": f"*.{ctx.cluster.dns_zone}", "Type": "CNAME", "TTL": 300,
            "ResourceRecords": [{"Value": ctx.cluster.ingress_hostname}]}},
    ]})
    parent = base_zone_id(ctx)
    if parent:
        servers = route53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]
        route53.change_resource_record_sets(HostedZoneId=parent, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": ctx.cluster.dns_zone, "Type": "NS", "TTL": 300,
                "ResourceRecords": [{"Value": s} for s in servers]}}]})
    ctx.record("dns_records", "dns_records", zone_id, name=ctx.cluster.dns_zone,
               delegated_from=parent or "")
