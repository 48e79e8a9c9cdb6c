"""Print results as a table (people), JSON or YAML (scripts)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "yaml")

output_option = click.option(
    "--output",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="How to print the result.",
)

Column = tuple[str, Callable[[dict], Any]]


def console() -> Console:
    return Console(soft_wrap=True)


def emit(
    data: Any, output: str, columns: Sequence[Column] = (), rows: list[dict] | None = None
) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        return
    if output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
        return
    rows = rows if rows is not None else (data if isinstance(data, list) else [data])
    table = Table(show_edge=False, header_style="bold")
    for title, _ in columns:
        table.add_column(title)
    for row in rows:
        table.add_row(*("" if (value := get(row)) is None else str(value) for _, get in columns))
    console().print(table)


def emit_fields(data: dict, output: str, fields: Sequence[Column]) -> None:
    """One object as `name  value` lines (table) or the whole object (json/yaml)."""
    if output != "table":
        emit(data, output)
        return
    table = Table(show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for title, get in fields:
        value = get(data)
        table.add_row(title, "" if value is None else str(value))
    console().print(table)
