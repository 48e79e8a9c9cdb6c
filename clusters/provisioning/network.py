"""The cluster's network: VPC, internet gateway, subnets, NAT gateways, route tables and
security groups. Each step finds its resource (ledger, then tags), creates it only if absent, and
records it only once it is complete (a ledger row means "done")."""

from __future__ import annotations

import ipaddress

from clusters.provisioning import ledger
from clusters.provisioning.context import StepContext
from clusters.provisioning.errors import NotReady, ProvisioningFailed, error_code

# Node ports the ingress controller listens on (see userdata.py), behind the ingress LB's 80/443.
INGRESS_HTTP_NODE_PORT = 30080
INGRESS_HTTPS_NODE_PORT = 30443


def subnet_cidrs(vpc_cidr: str, count: int) -> tuple[list[str], list[str]]:
    """Public subnets from the bottom of the VPC, private ones from the middle: room to add AZs."""
    network = ipaddress.ip_network(vpc_cidr)
    new_prefix = min(network.prefixlen + 4, 28)
    blocks = list(network.subnets(new_prefix=new_prefix))
    half = len(blocks) // 2
    public = [str(blocks[i]) for i in range(count)]
    private = [str(blocks[half + i]) for i in range(count)]
    return public, private


def find_one(ctx: StepContext, describe: str, result_key: str, name: str, **extra) -> dict | None:
    """The cluster's resource with this Name tag, found by its tags (after a lost ledger write)."""
    response = getattr(ctx.client("ec2"), describe)(Filters=ctx.cluster_filter(name), **extra)
    items = response[result_key]
    return items[0] if items else None


def vpc_id(ctx: StepContext) -> str:
    return ctx.recorded("vpc").aws_id


def ensure_vpc(ctx: StepContext) -> None:
    if ctx.recorded("vpc"):
        return
    ec2 = ctx.client("ec2")
    name = ctx.name("vpc")
    vpc = find_one(ctx, "describe_vpcs", "Vpcs", name)
    if vpc is None:
        vpc = ec2.create_vpc(
            CidrBlock=ctx.cluster.vpc_cidr,
            TagSpecifications=ctx.tag_specifications("vpc", name=name),
        )["Vpc"]
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": True})
    ctx.record("vpc", "vpc", vpc["VpcId"], name=name, cidr=ctx.cluster.vpc_cidr)


def ensure_internet_gateway(ctx: StepContext) -> None:
    if ctx.recorded("internet_gateway"):
        return
    ec2 = ctx.client("ec2")
    name = ctx.name("igw")
    igw = find_one(ctx, "describe_internet_gateways", "InternetGateways", name)
    if igw is None:
        igw = ec2.create_internet_gateway(
            TagSpecifications=ctx.tag_specifications("internet-gateway", name=name)
        )["InternetGateway"]
    if not any(a["VpcId"] == vpc_id(ctx) for a in igw.get("Attachments", [])):
        ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id(ctx))
    ctx.record("internet_gateway", "internet_gateway", igw["InternetGatewayId"], name=name)


def ensure_subnets(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    public, private = subnet_cidrs(ctx.cluster.vpc_cidr, len(ctx.azs))
    for tier, cidrs in (("public", public), ("private", private)):
        for az, cidr in zip(ctx.azs, cidrs, strict=True):
            key = f"subnet/{tier}/{az}"
            if ctx.recorded(key):
                continue
            name = ctx.name(f"{tier}-{az}")
            subnet = find_one(ctx, "describe_subnets", "Subnets", name)
            if subnet is None:
                subnet = ec2.create_subnet(
                    VpcId=vpc_id(ctx),
                    CidrBlock=cidr,
                    AvailabilityZone=az,
                    TagSpecifications=ctx.tag_specifications("subnet", name=name),
                )["Subnet"]
            # Only the bastions have public addresses, and they ask for one explicitly.
            ec2.modify_subnet_attribute(
                SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": False}
            )
            ctx.record(key, "subnet", subnet["SubnetId"], name=name, az=az, tier=tier, cidr=cidr)


def subnet_ids(ctx: StepContext, tier: str) -> list[str]:
    return [ctx.recorded(f"subnet/{tier}/{az}").aws_id for az in ctx.azs]


def ensure_nat_gateways(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    for az in ctx.azs:
        eip_key, nat_key = f"eip/{az}", f"nat_gateway/{az}"
        eip_name, nat_name = ctx.name(f"nat-{az}"), ctx.name(f"nat-{az}")
        eip = ctx.recorded(eip_key)
        if eip is None:
            found = ec2.describe_addresses(Filters=ctx.cluster_filter(eip_name))["Addresses"]
            address = found[0] if found else ec2.allocate_address(
                Domain="vpc", TagSpecifications=ctx.tag_specifications("elastic-ip", name=eip_name)
            )
            eip = ctx.record(eip_key, "elastic_ip", address["AllocationId"], name=eip_name, az=az)
        if ctx.recorded(nat_key):
            continue
        nat = live_nat_gateway(ctx, nat_name)
        if nat is None:
            nat = ec2.create_nat_gateway(
                SubnetId=ctx.recorded(f"subnet/public/{az}").aws_id,
                AllocationId=eip.aws_id,
                ClientToken=ctx.token(nat_key),
                TagSpecifications=ctx.tag_specifications("natgateway", name=nat_name),
            )["NatGateway"]
        ctx.record(nat_key, "nat_gateway", nat["NatGatewayId"], name=nat_name, az=az)


def cluster_nat_gateways(ctx: StepContext) -> list[dict]:
    """The cluster's NAT gateways that are not deleted. Moto's describe_nat_gateways ignores
    `tag:` filters, so this filters by VPC and then by tag itself."""
    record = ctx.recorded("vpc")
    filters = [{"Name": "vpc-id", "Values": [record.aws_id]}] if record else []
    gateways = ctx.client("ec2").describe_nat_gateways(Filters=filters)["NatGateways"]
    return [
        nat
        for nat in gateways
        if nat["State"] not in ("deleted", "failed")
        and {"Key": "happa.io/cluster", "Value": ctx.id} in nat.get("Tags", [])
    ]


def live_nat_gateway(ctx: StepContext, name: str) -> dict | None:
    for nat in cluster_nat_gateways(ctx):
        if {"Key": "Name", "Value": name} in nat.get("Tags", []):
            return nat
    return None


def wait_for_nat_gateways(ctx: StepContext) -> None:
    """Private route tables need available NAT gateways; AWS takes a minute or two."""
    ids = [ctx.recorded(f"nat_gateway/{az}").aws_id for az in ctx.azs]
    gateways = ctx.client("ec2").describe_nat_gateways(NatGatewayIds=ids)["NatGateways"]
    states = {nat["NatGatewayId"]: nat["State"] for nat in gateways}
    failed = [i for i in ids if states.get(i) in ("failed", "deleted", None)]
    if failed:
        # A failed NAT gateway is replaced on the next run: forget it so it is created again.
        for az in ctx.azs:
            row = ctx.recorded(f"nat_gateway/{az}")
            if row.aws_id in failed:
                message = f"NAT gateway {row.aws_id} failed; replacing it"
                ledger.forget(ctx.cluster, row, step=ctx.step, message=message)
        raise NotReady("A NAT gateway failed to start; creating a new one", retry_in=5)
    pending = [i for i in ids if states[i] != "available"]
    if pending:
        raise NotReady(f"Waiting for NAT gateways {', '.join(pending)} to become available")


def ensure_route_tables(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    tables = [("public", ctx.name("public"), "public", None)]
    tables += [(f"private/{az}", ctx.name(f"private-{az}"), "private", az) for az in ctx.azs]
    for suffix, name, tier, az in tables:
        key = f"route_table/{suffix}"
        if ctx.recorded(key):
            continue
        table = find_one(ctx, "describe_route_tables", "RouteTables", name)
        if table is None:
            table = ec2.create_route_table(
                VpcId=vpc_id(ctx),
                TagSpecifications=ctx.tag_specifications("route-table", name=name),
            )["RouteTable"]
        table_id = table["RouteTableId"]
        target = (
            {"GatewayId": ctx.recorded("internet_gateway").aws_id}
            if tier == "public"
            else {"NatGatewayId": ctx.recorded(f"nat_gateway/{az}").aws_id}
        )
        has_default = any(
            r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", [])
        )
        if has_default:
            ec2.replace_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target)
        else:
            ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target)
        associated = {a.get("SubnetId") for a in table.get("Associations", [])}
        subnets = [ctx.recorded(f"subnet/{tier}/{z}").aws_id for z in ([az] if az else ctx.azs)]
        for subnet in subnets:
            if subnet not in associated:
                ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet)
        ctx.record(key, "route_table", table_id, name=name)


# Security groups, and who may reach whom. `None` as a source is "anywhere"; a string is another
# of the cluster's groups; "orgs" is the organization's allowed SSH CIDRs.
SECURITY_GROUPS = {
    "bastion": "SSH from the organization's allowed CIDRs only",
    "api-lb": "Kubernetes API load balancer",
    "ingress-lb": "Ingress load balancer: HTTP and HTTPS from anywhere",
    "master": "Control plane: API from the API load balancer and nodes, etcd between masters",
    "worker": "Worker nodes: ingress node ports from the ingress load balancer, all from masters",
}


def security_group_rules(ctx: StepContext, groups: dict[str, str]) -> dict[str, list[dict]]:
    def from_group(role: str, port_from: int, port_to: int, protocol: str = "tcp") -> dict:
        return {"IpProtocol": protocol, "FromPort": port_from, "ToPort": port_to,
                "UserIdGroupPairs": [{"GroupId": groups[role], "Description": f"from {role}"}]}

    def from_cidrs(cidrs: list[str], port_from: int, port_to: int) -> dict:
        return {"IpProtocol": "tcp", "FromPort": port_from, "ToPort": port_to,
                "IpRanges": [{"CidrIp": cidr} for cidr in cidrs]}

    vpc_cidr = ctx.cluster.vpc_cidr
    ssh_cidrs = list(ctx.cluster.organization.allowed_ssh_cidrs or [])
    return {
        "bastion": [from_cidrs(ssh_cidrs, 22, 22)] if ssh_cidrs else [],
        # Network load balancers keep the client's address: the API is reachable from anywhere
        # (OIDC guards it), health checks come from inside the VPC.
        "api-lb": [from_cidrs(["0.0.0.0/0"], 443, 443)],
        "ingress-lb": [from_cidrs(["0.0.0.0/0"], 80, 80), from_cidrs(["0.0.0.0/0"], 443, 443)],
        "master": [
            from_cidrs(["0.0.0.0/0"], 6443, 6443),
            from_group("worker", 6443, 6443),
            from_group("master", 2379, 2380),
            from_group("bastion", 22, 22),
            from_group("worker", 0, 65535, "-1"),
        ],
        "worker": [
            from_cidrs([vpc_cidr], INGRESS_HTTP_NODE_PORT, INGRESS_HTTP_NODE_PORT),
            from_cidrs([vpc_cidr], INGRESS_HTTPS_NODE_PORT, INGRESS_HTTPS_NODE_PORT),
            from_cidrs(["0.0.0.0/0"], INGRESS_HTTP_NODE_PORT, INGRESS_HTTP_NODE_PORT),
            from_cidrs(["0.0.0.0/0"], INGRESS_HTTPS_NODE_PORT, INGRESS_HTTPS_NODE_PORT),
            from_group("master", 0, 65535, "-1"),
            from_group("worker", 0, 65535, "-1"),
            from_group("bastion", 22, 22),
        ],
    }


def ensure_security_groups(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    groups: dict[str, str] = {}
    for role, description in SECURITY_GROUPS.items():
        record = ctx.recorded(f"security_group/{role}")
        if record:
            groups[role] = record.aws_id
            continue
        name = ctx.name(role)
        found = ec2.describe_security_groups(
            Filters=[*ctx.cluster_filter(name), {"Name": "vpc-id", "Values": [vpc_id(ctx)]}]
        )["SecurityGroups"]
        groups[role] = found[0]["GroupId"] if found else ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id(ctx),
            TagSpecifications=ctx.tag_specifications("security-group", name=name),
        )["GroupId"]
    rules = security_group_rules(ctx, groups)
    for role, group_id in groups.items():
        key = f"security_group/{role}"
        if ctx.recorded(key):
            continue
        for rule in rules[role]:
            try:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
            except Exception as exc:
                # A run killed after some rules were added finds them there: that is fine.
                if error_code(exc) != "InvalidPermission.Duplicate":
                    raise
        ctx.record(key, "security_group", group_id, name=ctx.name(role))


def security_group(ctx: StepContext, role: str) -> str:
    record = ctx.recorded(f"security_group/{role}")
    if record is None:
        raise ProvisioningFailed(f"security group {role} is missing")
    return record.aws_id
