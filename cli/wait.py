"""`--wait`: follow an operation with a live progress bar until it ends (polls status, events)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.client import Client
from cli.errors import ApiFailure, OperationFailed
from cli.output import console

# What each operation waits for: the status that ends it well, and those that end it badly.
DONE = "done"
FAILED = "failed"


def cluster_outcome_of_create(cluster: dict | None) -> str | None:
    if cluster is None:
        return FAILED
    return {"running": DONE, "failed": FAILED, "deleted": FAILED}.get(cluster["status"])


def cluster_outcome_of_delete(cluster: dict | None) -> str | None:
    if cluster is None or cluster["status"] == "deleted":
        return DONE
    return FAILED if cluster["status"] == "failed" else None


def pool_outcome(target: str) -> Callable[[dict | None], str | None]:
    def outcome(pool: dict | None) -> str | None:
        if pool is None:
            return DONE if target == "deleted" else FAILED
        if pool["status"] == target:
            return DONE
        return FAILED if pool["status"] == "failed" else None

    return outcome


def wait_for(
    client: Client,
    cluster_id: str,
    *,
    what: str,
    fetch: Callable[[], dict | None],
    outcome: Callable[[dict | None], str | None],
    timeout: float,
    interval: float,
    after_event: int = 0,
    show_events: bool = True,
) -> dict | None:
    """Poll until `outcome` says done (return the object) or failed/timeout (exit code 5).

    Events after `after_event` are printed above the bar: pass `latest_event_id()` taken before
    the request, so the operation's first events are not missed.
    """
    deadline = time.monotonic() + timeout
    last_event = after_event
    out = console()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=out,
        transient=False,
    ) as progress:
        task = progress.add_task(what, total=None)
        while True:
            current = fetch()
            cluster = _get_or_none(client, f"/clusters/{cluster_id}")
            if cluster is not None:
                step = cluster["progress"]
                progress.update(
                    task,
                    total=step["steps_total"] or None,
                    completed=step["steps_done"],
                    description=f"{what}: {cluster['status']}"
                    + (f" · {step['current_step']}" if step["current_step"] else ""),
                )
            if show_events:
                last_event = _print_new_events(client, cluster_id, last_event, progress)
            result = outcome(current)
            if result == DONE:
                if cluster is not None and cluster["progress"]["steps_total"]:
                    progress.update(task, completed=cluster["progress"]["steps_total"])
                return current
            if result == FAILED:
                reason = (cluster or {}).get("status_reason") or "see `happa events`"
                raise OperationFailed(f"{what} failed: {reason}")
            if time.monotonic() >= deadline:
                raise OperationFailed(f"{what} did not finish within {timeout:g} seconds.")
            time.sleep(interval)


def _get_or_none(client: Client, path: str, **params: object) -> dict | None:
    try:
        return client.get(path, **params)
    except ApiFailure as error:
        if error.status == 404:
            return None
        raise


def latest_event_id(client: Client, cluster_id: str) -> int:
    last = 0
    while True:
        page = _get_or_none(client, f"/clusters/{cluster_id}/events", after=last, limit=500)
        if not page or page["last_id"] is None:
            return last
        last = page["last_id"]
        if not page["has_more"]:
            return last


def _print_new_events(client: Client, cluster_id: str, after: int, progress: Progress) -> int:
    page = _get_or_none(client, f"/clusters/{cluster_id}/events", after=after, limit=500)
    if not page:
        return after
    for event in page["items"]:
        progress.console.print(format_event(event))
    return page["last_id"] or after


def format_event(event: dict) -> str:
    stamp = event["created_at"][11:19]
    level = {"warning": "[yellow]warning[/]", "error": "[red]error[/]"}.get(event["level"], "")
    parts = [stamp, event["kind"], level, event["message"]]
    return "  ".join(part for part in parts if part)
