"""Merge a cluster's kubeconfig into the user's, replacing only entries of the same name."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

SECTIONS = ("clusters", "users", "contexts")


def default_kubeconfig_path() -> Path:
    """The first file of $KUBECONFIG (kubectl writes there too), else ~/.kube/config."""
    value = os.environ.get("KUBECONFIG", "")
    first = next((part for part in value.split(os.pathsep) if part), None)
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def load(path: Path) -> dict:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a kubeconfig (not a YAML mapping).")
    return data


def merge(existing: dict, new: dict, *, switch: bool) -> dict:
    """`existing` with `new`'s clusters, users and contexts added (same names replaced)."""
    merged = dict(existing)
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    merged.setdefault("preferences", {})
    for section in SECTIONS:
        entries = list(merged.get(section) or [])
        for entry in new.get(section) or []:
            names = [item.get("name") for item in entries]
            if entry["name"] in names:
                entries[names.index(entry["name"])] = entry
            else:
                entries.append(entry)
        merged[section] = entries
    # kubectl needs some current context; never take over one the user chose unless asked.
    if switch or not merged.get("current-context"):
        merged["current-context"] = new["current-context"]
    return merged
