"""The `happa` command. Exit codes: 0 ok, 1 API error, 2 usage, 3 not found, 4 auth, 5 failed.

Every command talks to the public HTTP API only (cli/client.py); nothing here imports the site.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
import yaml

from cli import __version__
from cli import config as cli_config
from cli import kubeconfig as kubeconfigs
from cli.client import Client
from cli.errors import ApiFailure, AuthError, HappaError
from cli.output import console, emit, emit_fields, output_option
from cli.wait import (
    cluster_outcome_of_create,
    cluster_outcome_of_delete,
    format_event,
    latest_event_id,
    pool_outcome,
    wait_for,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEFAULT_TIMEOUT = 3600.0


def wait_options(func: Callable) -> Callable:
    func = click.option(
        "--interval", type=click.FloatRange(min=0.1), default=3.0, show_default=True,
        help="Seconds between polls while waiting.",
    )(func)
    func = click.option(
        "--timeout", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT, show_default=True,
        help="Give up waiting after this many seconds (exit code 5).",
    )(func)
    return click.option(
        "--wait", is_flag=True, help="Show progress until the operation ends (exit 5 if it fails)."
    )(func)


def with_client(func: Callable) -> Callable:
    """Hand the command a Client made from the flags, HAPPA_URL/HAPPA_TOKEN or the config file."""

    @click.pass_context
    @wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        options = ctx.find_root().obj or {}
        settings = cli_config.resolve(options.get("url"), options.get("token"))
        if settings is None:
            raise AuthError(
                "Not logged in: run `happa login --url URL --token TOKEN` or set HAPPA_URL and "
                "HAPPA_TOKEN."
            )
        client = Client(settings.url, settings.token)
        try:
            return func(client, *args, **kwargs)
        finally:
            client.close()

    return wrapper


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="happa")
@click.option("--url", envvar="HAPPA_URL", help="The Happa site (overrides the config file).")
@click.option("--token", envvar="HAPPA_TOKEN", help="An API token (overrides the config file).")
@click.pass_context
def cli(ctx: click.Context, url: str | None, token: str | None) -> None:
    """Run Kubernetes clusters on Happa from the command line.

    Exit codes: 0 ok, 1 API error, 2 usage error, 3 not found, 4 not logged in or not allowed,
    5 the operation failed or timed out.
    """
    ctx.obj = {"url": url, "token": token}


# --- login ---------------------------------------------------------------------------------------


@cli.command()
@click.option("--url", required=True, help="The Happa site, e.g. https://happa.example.com.")
@click.option("--token", required=True, help="An API token (see `manage.py api_token` or the UI).")
def login(url: str, token: str) -> None:
    """Check the token against the site and save both to the config file (mode 0600)."""
    client = Client(url, token)
    try:
        organization = client.get("/organizations")["items"][0]
    except ApiFailure as error:
        if error.status == 401:
            raise AuthError(f"The site refused the token: {error.message}") from None
        raise
    finally:
        client.close()
    path = cli_config.save_config(url.rstrip("/"), token)
    click.echo(
        f"Logged in to {url.rstrip('/')} as {organization['role']} of {organization['slug']}. "
        f"Saved to {path}."
    )


@cli.command()
@output_option
@with_client
def whoami(client: Client, output: str) -> None:
    """The organization and role these credentials act as."""
    organization = client.get("/organizations")["items"][0]
    emit_fields(
        organization,
        output,
        [
            ("Organization", lambda o: f"{o['name']} ({o['slug']})"),
            ("Role", lambda o: o["role"]),
            ("Site", lambda o: client.url),
            ("Live clusters", lambda o: f"{o['live_clusters']} of {o['max_clusters']}"),
            ("Identity provider", lambda o: (o["identity_provider"] or {}).get("issuer")),
        ],
    )


# --- catalog -------------------------------------------------------------------------------------


@cli.command("instance-types")
@click.option("--region", help="Only types offered in this region.")
@click.option("--recommended", is_flag=True, help="Only recommended types.")
@output_option
@with_client
def instance_types(client: Client, region: str | None, recommended: bool, output: str) -> None:
    """The EC2 instance types node pools can use, with prices."""
    rows = client.list_all(
        "/instance-types", region=region, recommended="true" if recommended else None
    )
    emit(
        rows,
        output,
        [
            ("NAME", lambda r: r["name"] + (" *" if r["is_recommended"] else "")),
            ("VCPUS", lambda r: r["vcpus"]),
            ("MEMORY GIB", lambda r: f"{r['memory_mib'] / 1024:g}"),
            ("ARCH", lambda r: r["architecture"]),
            ("USD/HOUR", lambda r: r["hourly_price_usd"] or "-"),
        ],
    )


@cli.command()
@output_option
@with_client
def releases(client: Client, output: str) -> None:
    """Kubernetes versions offered for new clusters."""
    rows = client.list_all("/releases")
    emit(
        rows,
        output,
        [
            ("VERSION", lambda r: r["version"]),
            ("DEFAULT", lambda r: "yes" if r["is_default"] else ""),
        ],
    )


# --- clusters ------------------------------------------------------------------------------------

CLUSTER_COLUMNS = [
    ("ID", lambda c: c["id"]),
    ("NAME", lambda c: c["name"]),
    ("STATUS", lambda c: c["status"]),
    ("HEALTH", lambda c: c["health"]),
    ("REGION", lambda c: c["region"]),
    ("VERSION", lambda c: c["kubernetes_version"]),
    ("WORKERS", lambda c: sum(p["desired_size"] for p in c["node_pools"])),
    ("CREATED", lambda c: c["created_at"][:16].replace("T", " ")),
]

CLUSTER_FIELDS = [
    ("ID", lambda c: c["id"]),
    ("Name", lambda c: c["name"]),
    ("Organization", lambda c: c["organization"]),
    ("Status", lambda c: c["status"] + (f" ({c['status_reason']})" if c["status_reason"] else "")),
    ("Health", lambda c: c["health"]),
    (
        "Progress",
        lambda c: f"{c['progress']['steps_done']}/{c['progress']['steps_total']} "
        f"{c['progress']['current_step']}".strip(),
    ),
    ("Region", lambda c: f"{c['region']} ({', '.join(c['availability_zones'])})"),
    ("Kubernetes", lambda c: c["kubernetes_version"]),
    ("Masters", lambda c: c["master_count"]),
    ("API", lambda c: c["api_endpoint"]),
    ("Ingress", lambda c: c["ingress_hostname"]),
    (
        "Node pools",
        lambda c: ", ".join(
            f"{p['name']} {p['instance_type']} {p['min_size']}-{p['max_size']} ({p['status']})"
            for p in c["node_pools"]
        ),
    ),
    ("Created", lambda c: f"{c['created_at']} by {c['created_by'] or '-'}"),
]

POOL_COLUMNS = [
    ("ID", lambda p: p["id"]),
    ("NAME", lambda p: p["name"]),
    ("TYPE", lambda p: p["instance_type"]),
    ("MIN", lambda p: p["min_size"]),
    ("MAX", lambda p: p["max_size"]),
    ("DESIRED", lambda p: p["desired_size"]),
    ("STATUS", lambda p: p["status"]),
]


@cli.group()
def clusters() -> None:
    """List, show, create, scale and delete clusters."""


@clusters.command("list")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted clusters.")
@click.option("--status", help="Only clusters in this status.")
@output_option
@with_client
def clusters_list(client: Client, include_deleted: bool, status: str | None, output: str) -> None:
    """The organization's clusters, newest first."""
    rows = client.list_all(
        "/clusters", include_deleted="true" if include_deleted else None, status=status
    )
    emit(rows, output, CLUSTER_COLUMNS)


@clusters.command("show")
@click.argument("cluster")
@output_option
@with_client
def clusters_show(client: Client, cluster: str, output: str) -> None:
    """One cluster (by id or name)."""
    emit_fields(client.find_cluster(cluster), output, CLUSTER_FIELDS)


@clusters.command("create")
@click.argument("name")
@click.option("--region", default="eu-central-1", show_default=True)
@click.option("--azs", "availability_zone_count", type=click.IntRange(1, 6), default=2,
              show_default=True, help="Availability zones to spread over.")
@click.option("--version", "kubernetes_version", help="Kubernetes version (default: the default).")
@click.option("--masters", "master_count", type=click.Choice(["1", "3"]), default="1",
              show_default=True)
@click.option("--instance-type", default="m5.xlarge", show_default=True,
              help="Instance type of the default node pool.")
@click.option("--min", "min_size", type=click.IntRange(0), default=3, show_default=True)
@click.option("--max", "max_size", type=click.IntRange(0), default=3, show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the plan (resources, cost); create nothing.")
@wait_options
@output_option
@with_client
def clusters_create(
    client: Client,
    name: str,
    region: str,
    availability_zone_count: int,
    kubernetes_version: str | None,
    master_count: str,
    instance_type: str,
    min_size: int,
    max_size: int,
    dry_run: bool,
    wait: bool,
    timeout: float,
    interval: float,
    output: str,
) -> None:
    """Create a cluster called NAME with one node pool."""
    body = {
        "name": name,
        "region": region,
        "availability_zone_count": availability_zone_count,
        "kubernetes_version": kubernetes_version,
        "master_count": int(master_count),
        "node_pools": [
            {"name": "default", "instance_type": instance_type, "min_size": min_size,
             "max_size": max_size}
        ],
    }
    if dry_run:
        plan = client.request("POST", "/clusters", params={"dry_run": "true"}, json=body)
        if output != "table":
            emit(plan, output)
            return
        emit(
            plan["resources"],
            output,
            [("KIND", lambda r: r["kind"]), ("NAME", lambda r: r["name"]),
             ("ZONE", lambda r: r["availability_zone"]), ("DETAIL", lambda r: r["detail"])],
        )
        click.echo(
            f"{len(plan['resources'])} resources, about ${plan['hourly_cost_usd']}/hour, "
            f"${plan['monthly_cost_usd']}/month."
        )
        return
    cluster = client.request("POST", "/clusters", json=body, idempotent=True)
    if output == "table":
        click.echo(f"Cluster {cluster['id']} ({cluster['name']}) is {cluster['status']}.")
    if wait:
        cluster = wait_for(
            client, cluster["id"], what=f"Creating {cluster['id']}",
            fetch=lambda: client.get(f"/clusters/{cluster['id']}"),
            outcome=cluster_outcome_of_create, timeout=timeout, interval=interval,
        )
    if output != "table":
        emit(cluster, output)
    elif wait:
        click.echo(f"Cluster {cluster['id']} is running: {cluster['api_endpoint']}")


@clusters.command("scale")
@click.argument("cluster")
@click.option("--pool", help="The node pool (default: the cluster's only or first pool).")
@click.option("--min", "min_size", type=click.IntRange(0), required=True)
@click.option("--max", "max_size", type=click.IntRange(0), required=True)
@click.option("--desired", "desired_size", type=click.IntRange(0))
@wait_options
@output_option
@with_client
def clusters_scale(client: Client, cluster: str, pool: str | None, **options: Any) -> None:
    """Scale a cluster's workers (one node pool)."""
    found = client.find_cluster(cluster)
    if pool is None:
        if not found["node_pools"]:
            raise HappaError(f"Cluster {found['id']} has no node pools.")
        pool = found["node_pools"][0]["name"]
    _scale(client, found, pool, **options)


@clusters.command("delete")
@click.argument("cluster")
@click.option("--yes", is_flag=True, help="Do not ask; delete.")
@wait_options
@output_option
@with_client
def clusters_delete(
    client: Client, cluster: str, yes: bool, wait: bool, timeout: float, interval: float,
    output: str,
) -> None:
    """Delete a cluster and every AWS resource it has."""
    found = client.find_cluster(cluster)
    if not yes:
        typed = click.prompt(f"Type the cluster id ({found['id']}) to delete {found['name']}")
        if typed.strip() != found["id"]:
            raise click.UsageError("The id did not match; nothing was deleted.")
    after_event = latest_event_id(client, found["id"]) if wait else 0
    deleted = client.request("DELETE", f"/clusters/{found['id']}")
    if output == "table":
        click.echo(f"Cluster {deleted['id']} is {deleted['status']}.")
    if wait:
        deleted = wait_for(
            client, found["id"], what=f"Deleting {found['id']}",
            fetch=lambda: _get_or_none(client, f"/clusters/{found['id']}"),
            outcome=cluster_outcome_of_delete, timeout=timeout, interval=interval,
            after_event=after_event,
        ) or deleted
        if output == "table":
            click.echo(f"Cluster {found['id']} is deleted.")
    if output != "table":
        emit(deleted, output)


# --- node pools ----------------------------------------------------------------------------------


@cli.group()
def nodepools() -> None:
    """List, add, scale and delete a cluster's node pools."""


@nodepools.command("list")
@click.argument("cluster")
@output_option
@with_client
def nodepools_list(client: Client, cluster: str, output: str) -> None:
    """The cluster's node pools."""
    found = client.find_cluster(cluster)
    emit(client.list_all(f"/clusters/{found['id']}/node-pools"), output, POOL_COLUMNS)


@nodepools.command("add")
@click.argument("cluster")
@click.argument("name")
@click.option("--instance-type", default="m5.xlarge", show_default=True)
@click.option("--min", "min_size", type=click.IntRange(0), default=3, show_default=True)
@click.option("--max", "max_size", type=click.IntRange(0), default=10, show_default=True)
@click.option("--desired", "desired_size", type=click.IntRange(0))
@wait_options
@output_option
@with_client
def nodepools_add(
    client: Client, cluster: str, name: str, instance_type: str, min_size: int, max_size: int,
    desired_size: int | None, wait: bool, timeout: float, interval: float, output: str,
) -> None:
    """Add a node pool NAME to CLUSTER."""
    found = client.find_cluster(cluster)
    body = {"name": name, "instance_type": instance_type, "min_size": min_size,
            "max_size": max_size, "desired_size": desired_size}
    after_event = latest_event_id(client, found["id"]) if wait else 0
    pool = client.request(
        "POST", f"/clusters/{found['id']}/node-pools", json=body, idempotent=True
    )
    pool = _maybe_wait_for_pool(
        client, found, pool, "running", wait, timeout, interval, after_event
    )
    _print_pool(pool, output, f"Node pool {pool['name']} ({pool['id']}) is {pool['status']}.")


@nodepools.command("scale")
@click.argument("cluster")
@click.argument("pool")
@click.option("--min", "min_size", type=click.IntRange(0), required=True)
@click.option("--max", "max_size", type=click.IntRange(0), required=True)
@click.option("--desired", "desired_size", type=click.IntRange(0))
@click.option("--instance-type", help="Change the pool's instance type too.")
@wait_options
@output_option
@with_client
def nodepools_scale(client: Client, cluster: str, pool: str, **options: Any) -> None:
    """Scale POOL of CLUSTER (by name or id)."""
    _scale(client, client.find_cluster(cluster), pool, **options)


@nodepools.command("delete")
@click.argument("cluster")
@click.argument("pool")
@click.option("--yes", is_flag=True, help="Do not ask; delete.")
@wait_options
@output_option
@with_client
def nodepools_delete(
    client: Client, cluster: str, pool: str, yes: bool, wait: bool, timeout: float,
    interval: float, output: str,
) -> None:
    """Delete POOL of CLUSTER and its machines."""
    found = client.find_cluster(cluster)
    target = client.find_pool(found, pool)
    if not yes:
        click.confirm(f"Delete node pool {target['name']} of {found['id']}?", abort=True)
    after_event = latest_event_id(client, found["id"]) if wait else 0
    deleted = client.request("DELETE", f"/clusters/{found['id']}/node-pools/{target['id']}")
    deleted = _maybe_wait_for_pool(
        client, found, deleted, "deleted", wait, timeout, interval, after_event
    )
    _print_pool(deleted, output, f"Node pool {target['name']} is {deleted['status']}.")


def _scale(
    client: Client, cluster: dict, pool_ref: str, *, min_size: int, max_size: int,
    desired_size: int | None, wait: bool, timeout: float, interval: float, output: str,
    instance_type: str | None = None,
) -> None:
    if min_size > max_size:
        raise click.UsageError("--min cannot be more than --max.")
    target = client.find_pool(cluster, pool_ref)
    body = {"min_size": min_size, "max_size": max_size, "desired_size": desired_size,
            "instance_type": instance_type}
    after_event = latest_event_id(client, cluster["id"]) if wait else 0
    pool = client.request(
        "PATCH", f"/clusters/{cluster['id']}/node-pools/{target['id']}", json=body
    )
    pool = _maybe_wait_for_pool(
        client, cluster, pool, "running", wait, timeout, interval, after_event
    )
    _print_pool(
        pool, output,
        f"Node pool {pool['name']}: {pool['min_size']}-{pool['max_size']} nodes "
        f"({pool['status']}).",
    )


def _maybe_wait_for_pool(
    client: Client, cluster: dict, pool: dict, target: str, wait: bool, timeout: float,
    interval: float, after_event: int,
) -> dict:
    if not wait:
        return pool
    path = f"/clusters/{cluster['id']}/node-pools/{pool['id']}"
    verb = "Deleting" if target == "deleted" else "Updating"
    return wait_for(
        client, cluster["id"], what=f"{verb} node pool {pool['name']}",
        fetch=lambda: _get_or_none(client, path), outcome=pool_outcome(target),
        timeout=timeout, interval=interval, after_event=after_event,
    ) or {**pool, "status": "deleted"}


def _print_pool(pool: dict, output: str, sentence: str) -> None:
    if output == "table":
        click.echo(sentence)
    else:
        emit(pool, output)


def _get_or_none(client: Client, path: str) -> dict | None:
    try:
        return client.get(path)
    except ApiFailure as error:
        if error.status == 404:
            return None
        raise


# --- alerts --------------------------------------------------------------------------------------

ALERT_COLUMNS = [
    ("ID", lambda a: a["id"]),
    ("CLUSTER", lambda a: a["cluster_id"]),
    ("SEVERITY", lambda a: a["severity"]),
    ("STATUS", lambda a: a["status"] + (" (ack)" if a["acknowledged_at"] else "")),
    ("SUMMARY", lambda a: a["summary"]),
    ("SINCE", lambda a: a["starts_at"][:16].replace("T", " ")),
]


@cli.group(invoke_without_command=True)
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved alerts.")
@click.option("--cluster", help="Only this cluster's alerts (id or name).")
@output_option
@click.pass_context
def alerts(ctx: click.Context, include_resolved: bool, cluster: str | None, output: str) -> None:
    """Firing alerts of the organization's clusters (subcommands: ack, silence)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(_list_alerts, include_resolved=include_resolved, cluster=cluster, output=output)


@with_client
def _list_alerts(client: Client, include_resolved: bool, cluster: str | None, output: str) -> None:
    cluster_id = client.find_cluster(cluster)["id"] if cluster else None
    rows = client.list_all(
        "/alerts", status=None if include_resolved else "firing", cluster=cluster_id
    )
    emit(rows, output, ALERT_COLUMNS)


@alerts.command("ack")
@click.argument("alert_id", type=click.IntRange(1))
@output_option
@with_client
def alerts_ack(client: Client, alert_id: int, output: str) -> None:
    """Acknowledge a firing alert."""
    alert = client.request("POST", f"/alerts/{alert_id}/acknowledge")
    if output == "table":
        click.echo(f"Acknowledged alert {alert['id']}: {alert['summary']}")
    else:
        emit(alert, output)


@alerts.command("silence")
@click.argument("alert_id", type=click.IntRange(1))
@click.option("--duration", type=click.Choice(["1h", "4h", "24h", "7d"]), default="4h",
              show_default=True)
@click.option("--comment", default="", help="Why (shown to the team).")
@output_option
@with_client
def alerts_silence(client: Client, alert_id: int, duration: str, comment: str, output: str) -> None:
    """Mute notifications of alerts like this one for a while."""
    silence = client.request(
        "POST", f"/alerts/{alert_id}/silence", json={"duration": duration, "comment": comment}
    )
    if output == "table":
        click.echo(f"Silenced {silence['matchers']} until {silence['ends_at']}.")
    else:
        emit(silence, output)


# --- tokens --------------------------------------------------------------------------------------

TOKEN_COLUMNS = [
    ("ID", lambda t: t["id"]),
    ("NAME", lambda t: t["name"]),
    ("PREFIX", lambda t: t["prefix"]),
    ("ROLE", lambda t: t["role"]),
    ("USER", lambda t: t["user"]),
    ("EXPIRES", lambda t: (t["expires_at"] or "never")[:16].replace("T", " ")),
    ("LAST USED", lambda t: (t["last_used_at"] or "-")[:16].replace("T", " ")),
    ("REVOKED", lambda t: (t["revoked_at"] or "")[:16].replace("T", " ")),
]


@cli.group()
def tokens() -> None:
    """List, make and revoke API tokens."""


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked and expired ones.")
@output_option
@with_client
def tokens_list(client: Client, include_revoked: bool, output: str) -> None:
    """Your tokens in this organization (admins: everyone's)."""
    rows = client.list_all("/tokens", include_revoked="true" if include_revoked else None)
    emit(rows, output, TOKEN_COLUMNS)


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "member", "admin", "owner"]),
              help="At most your role (default: your role).")
@click.option("--expires-days", type=click.IntRange(1, 3650), help="Default: never.")
@output_option
@with_client
def tokens_create(
    client: Client, name: str, role: str | None, expires_days: int | None, output: str
) -> None:
    """Make a token; its secret is printed once."""
    made = client.request(
        "POST", "/tokens", json={"name": name, "role": role, "expires_days": expires_days}
    )
    if output == "table":
        click.echo(made["token"])
        click.echo(
            f"Token {made['prefix']} ({made['role']}); it is shown only this once.", err=True
        )
    else:
        emit(made, output)


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(1))
@with_client
def tokens_revoke(client: Client, token_id: int) -> None:
    """Revoke a token at once."""
    revoked = client.request("DELETE", f"/tokens/{token_id}")
    click.echo(f"Revoked token {revoked['prefix']} ({revoked['name']}).")


# --- events, kubeconfig --------------------------------------------------------------------------


@cli.command()
@click.argument("cluster")
@click.option("--after", type=click.IntRange(0), default=0, help="Only events after this id.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they happen.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between polls with --follow.")
@click.option("--timeout", type=click.FloatRange(min=0.1),
              help="Stop following after this many seconds (default: until Ctrl-C).")
@output_option
@with_client
def events(
    client: Client, cluster: str, after: int, follow: bool, interval: float,
    timeout: float | None, output: str,
) -> None:
    """A cluster's events, oldest first (JSON/YAML: one document per page)."""
    found = client.find_cluster(cluster)
    deadline = time.monotonic() + timeout if timeout else None
    out = console()
    while True:
        page = client.get(f"/clusters/{found['id']}/events", after=after, limit=500)
        if output == "table":
            for event in page["items"]:
                out.print(f"{event['id']:>6}  " + format_event(event), highlight=False)
        elif page["items"]:
            emit(page["items"], output)
        after = page["last_id"] or after
        if page["has_more"]:
            continue
        if not follow or (deadline is not None and time.monotonic() >= deadline):
            return
        time.sleep(interval)


@cli.command()
@click.argument("cluster")
@click.option("-o", "--output-file", "output_file", type=click.Path(dir_okay=False),
              help="Write the kubeconfig to this file ('-' for stdout) instead of merging.")
@click.option("--switch", is_flag=True, help="Make the cluster's context the current one.")
@with_client
def kubeconfig(client: Client, cluster: str, output_file: str | None, switch: bool) -> None:
    """Get a kubeconfig for CLUSTER (signs in through your organization's OIDC provider).

    By default it is merged into $KUBECONFIG or ~/.kube/config under the context
    <organization>-<cluster id>; other entries are left alone.
    """
    found = client.find_cluster(cluster)
    answer = client.get(f"/clusters/{found['id']}/kubeconfig")
    if output_file == "-":
        click.echo(answer["kubeconfig"], nl=False)
        return
    if output_file:
        cli_config.write_private(Path(output_file), answer["kubeconfig"])
        click.echo(f"Wrote {output_file} (context {answer['context']}).")
        return
    path = kubeconfigs.default_kubeconfig_path()
    try:
        existing = kubeconfigs.load(path)
    except (ValueError, yaml.YAMLError) as error:
        raise HappaError(f"Cannot merge into {path}: {error}") from None
    merged = kubeconfigs.merge(existing, yaml.safe_load(answer["kubeconfig"]), switch=switch)
    cli_config.write_private(path, yaml.safe_dump(merged, sort_keys=False))
    current = " (now the current context)" if merged["current-context"] == answer["context"] else ""
    click.echo(f"Merged context {answer['context']} into {path}{current}.")


def main() -> int:
    try:
        return cli.main(prog_name="happa", standalone_mode=True) or 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)


if __name__ == "__main__":
    raise SystemExit(main())
