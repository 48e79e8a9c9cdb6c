"""Where the CLI finds the site and token: HAPPA_URL / HAPPA_TOKEN, else the config file.

The file is ~/.config/happa/config.yaml (under $XDG_CONFIG_HOME when set), readable by its owner
only: it holds a bearer token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass
class Settings:
    url: str
    token: str


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "happa" / "config.yaml"


def read_config() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return data if isinstance(data, dict) else {}


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, also when it existed with looser permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def save_config(url: str, token: str) -> Path:
    path = config_path()
    write_private(path, yaml.safe_dump({"url": url, "token": token}, sort_keys=False))
    return path


def resolve(url: str | None = None, token: str | None = None) -> Settings | None:
    """Flags first, then the environment, then the file; None when something is missing."""
    stored = read_config()
    url = url or os.environ.get("HAPPA_URL") or stored.get("url")
    token = token or os.environ.get("HAPPA_TOKEN") or stored.get("token")
    if not url or not token:
        return None
    return Settings(url=str(url).rstrip("/"), token=str(token))
