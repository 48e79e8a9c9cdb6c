"""The `happa` command: a client of the public HTTP API only (it imports nothing of the site)."""

__version__ = "0.1.0"
