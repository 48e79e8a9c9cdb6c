"""Time the cluster list page for an organization with 100 and with 10,000 clusters.

    /work/main/.venv/bin/python bench/cluster_list.py [--rounds 30] [--sizes 100,10000]
        [--database-url postgres://postgres@127.0.0.1:5432/happa_bench_list]

One database holds both organizations (plus their node pools, events and alerts): a temporary
SQLite file by default; with --database-url, that PostgreSQL database is created fresh, migrated,
and dropped at the end (it must not exist already, or must be disposable). Requests go through
Django's test Client with the real middleware, context processors and templates; the cache is
process-local so no Redis is needed. For each case it prints the median and the 90th percentile
of `rounds` requests (after warm-up), the number of SQL queries, and the ratio of the large
organization's median to the small one's. docs/ui-benchmark.md keeps the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGE_SIZE = 25  # clusters/views.py
STATUS_MIX = [  # (status, share): most clusters run; a tenth are deleted (kept for the record)
    ("running", 0.78), ("creating", 0.03), ("updating", 0.02), ("failed", 0.05),
    ("deleting", 0.02), ("deleted", 0.10),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sizes", default="100,10000", help="clusters per organization")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (created + dropped)")
    parser.add_argument("--explain", action="store_true", help="print the page query's plan")
    return parser.parse_args()


def prepare_environment(args: argparse.Namespace, tmp: Path) -> callable:
    """Point Django at the benchmark's own database before setup; returns how to drop it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happa.settings")
    os.environ["DEBUG"] = "true"
    os.environ["HAPPA_VAR_DIR"] = str(tmp)
    drop = lambda: None  # noqa: E731
    if args.database_url:
        import dj_database_url
        import psycopg

        config = dj_database_url.parse(args.database_url)
        admin = dict(
            host=config["HOST"] or None, port=config["PORT"] or None,
            user=config["USER"] or None, password=config["PASSWORD"] or None,
            dbname="postgres", autocommit=True,
        )
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
            conn.execute(f'CREATE DATABASE "{config["NAME"]}"')

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(**admin) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')

        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    return drop


def seed(prefix: str, size: int, owner, release) -> object:  # noqa: ANN001
    """An organization with `size` clusters, each with one or two node pools, three events, and
    an alert on every twentieth (firing on most of them)."""
    from django.db import transaction

    from accounts.models import Membership, Organization, Role
    from clusters.models import Cluster, Event, NodePool
    from monitoring.models import Alert

    rng = random.Random(size)  # noqa: S311 (benchmark data, not secrets)
    org = Organization.objects.create(slug=f"bench-{size}", name=f"Bench {size}",
                                      max_clusters=size * 2, max_nodes=size * 100)
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    start = time.perf_counter()
    clusters = []
    for i in range(size):
        clusters.append(Cluster(
            id=f"{prefix}{i:05d}", organization=org, name=f"app-{i:05d}",
            region=rng.choice(["eu-central-1", "eu-west-1", "us-east-1"]),
            availability_zones=["eu-central-1a", "eu-central-1b"], release=release,
            vpc_cidr=f"10.{i // 256 % 256}.{i % 256}.0/24",
            status=rng.choices(statuses, weights)[0], created_by=owner,
        ))
    Cluster.objects.bulk_create(clusters, batch_size=1000)
    # auto_now_add stamps them all alike; spread creation times so "newest first" means something.
    base = Cluster.objects.filter(organization=org).first().created_at
    with transaction.atomic():
        for i, c in enumerate(clusters):
            Cluster.objects.filter(pk=c.id).update(created_at=base - timedelta(minutes=size - i))
    pools, events, alerts = [], [], []
    for c in clusters:
        for n in range(rng.choice((1, 2))):
            pools.append(NodePool(
                cluster=c, name=f"pool{n}", instance_type=rng.choice(["m5.large", "m5.xlarge"]),
                min_size=3, max_size=10, desired_size=rng.randint(3, 10), status=c.status,
            ))
        for step in ("ensure_vpc", "ensure_bastions", "wait_for_control_plane"):
            events.append(Event(cluster=c, organization=org, kind="step", step=step,
                                message=f"{step} done"))
    for c in clusters[::20]:
        alerts.append(Alert(
            fingerprint="health", cluster=c, organization=org, summary="API unreachable",
            status="firing" if rng.random() < 0.7 else "resolved",
        ))
    NodePool.objects.bulk_create(pools, batch_size=2000)
    Event.objects.bulk_create(events, batch_size=2000)
    Alert.objects.bulk_create(alerts, batch_size=2000)
    print(f"  seeded {size:>6} clusters, {len(pools)} pools, {len(events)} events, "
          f"{len(alerts)} alerts in {time.perf_counter() - start:.1f} s", flush=True)
    return org


def cases(org) -> list[tuple[str, dict]]:  # noqa: ANN001
    from clusters.models import Cluster

    live = Cluster.objects.filter(organization=org).live().count()
    last = max(1, -(-live // PAGE_SIZE))
    return [
        ("first page", {}),
        ("search", {"q": "app-000"}),
        ("status filter", {"status": "failed"}),
        ("sort by name", {"sort": "name"}),
        ("last page", {"page": str(last)}),
    ]


def time_case(client, params: dict, rounds: int, warmup: int) -> tuple[float, float, int]:  # noqa: ANN001
    from django.db import connection

    for _ in range(warmup):
        client.get("/clusters/", params)
    # An execute wrapper, not CaptureQueriesContext: request_started clears connection.queries.
    queries = []

    def count(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get("/clusters/", params)
    if response.status_code != 200:
        raise RuntimeError(f"/clusters/ {params}: HTTP {response.status_code}")
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.get("/clusters/", params)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1], len(queries)


def explain(org) -> None:  # noqa: ANN001
    """The plans of the rows the list counts and of the pages it reads, as the view builds them
    (the last page is read backwards from the other end, see clusters/views.py _page_of)."""
    from clusters.forms import ClusterListFilter
    from clusters.models import Cluster

    clusters = Cluster.objects.filter(organization=org).live()
    order = ClusterListFilter.SORTS["newest"]
    backwards = [f[1:] if f.startswith("-") else f"-{f}" for f in order]
    for label, qs in [
        ("rows counted", clusters.order_by().values("pk")),
        ("first page", clusters.order_by(*order)[:PAGE_SIZE]),
        ("last page", clusters.order_by(*backwards)[:PAGE_SIZE]),
        ("status filter", clusters.filter(status="failed").order_by(*order)[:PAGE_SIZE]),
        ("sort by name", clusters.order_by(*ClusterListFilter.SORTS["name"])[:PAGE_SIZE]),
    ]:
        print(f"-- plan of the {label}:\n{qs.explain()}")


def main() -> None:
    args = parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="happa-bench-list-") as tmp:
        drop = prepare_environment(args, Path(tmp))
        try:
            run(args, sizes)
        finally:
            drop()


def run(args: argparse.Namespace, sizes: list[int]) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    # The page itself never touches the cache; the session-activity middleware does (once a
    # minute), and a process-local cache keeps Redis out of the benchmark.
    override = override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        ALLOWED_HOSTS=["testserver"],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    override.enable()
    print(f"database: {connection.vendor} ({settings.DATABASES['default']['NAME']})", flush=True)
    call_command("migrate", verbosity=0)
    from accounts.models import User
    from clusters.models import KubernetesRelease

    release, _ = KubernetesRelease.objects.get_or_create(version="1.31.4",
                                                         defaults={"is_default": True})
    orgs = {}
    for index, size in enumerate(sizes):
        owner = User.objects.create_user(email=f"owner-{size}@bench.test", password="x" * 12)
        orgs[size] = (seed("abcdefgh"[index], size, owner, release), owner)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # both engines plan with fresh statistics, as a live site would

    results: dict[tuple[str, int], tuple[float, float, int]] = {}
    for size, (org, owner) in orgs.items():
        client = Client()
        client.force_login(owner)
        for name, params in cases(org):
            results[(name, size)] = time_case(client, params, args.rounds, args.warmup)
        if args.explain and size == max(sizes):
            explain(org)

    small, large = min(sizes), max(sizes)
    print(f"\n{connection.vendor}: median ms (p90) and SQL queries, {args.rounds} rounds")
    print(f"| case | {small} clusters | {large} clusters | ratio {large}/{small} | queries |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in cases(orgs[small][0]):
        s_med, s_p90, s_q = results[(name, small)]
        l_med, l_p90, l_q = results[(name, large)]
        queries = f"{s_q}" if s_q == l_q else f"{s_q} → {l_q}"
        print(f"| {name} | {s_med:.1f} ({s_p90:.1f}) | {l_med:.1f} ({l_p90:.1f}) | "
              f"{l_med / s_med:.2f}× | {queries} |")


if __name__ == "__main__":
    main()
