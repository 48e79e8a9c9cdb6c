"""The `happa` command: a client of the public HTTP API only."""

from __future__ import annotations

import sys


def main() -> int:
    sys.stderr.write("happa: the CLI lands with the API issue\n")
    return 2
