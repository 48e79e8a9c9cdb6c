"""The real stack for browser tests: uvicorn (ASGI: pages and websockets) and a Celery worker as
subprocesses on loopback, one dedicated database, the suite's Redis and sandbox AWS; Playwright
driving Debian's Chromium (never a downloaded browser).

The stack's database is its own: a SQLite file made and migrated here, or, when the suite runs on
PostgreSQL (DATABASE_URL in CI), a separate database created next to the test database and
dropped at the end. The tests set up rows by running small Python snippets in a subprocess with
the stack's environment (`stack.run(...)`), so this process never opens the stack's database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.embedded_services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 60.0
SCREENSHOTS = ROOT / "docs" / "screenshots"


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def run(self, code: str, timeout: float = 60.0) -> object:
        """Run Python in a subprocess with the stack's settings; returns what it `emit(...)`s."""
        prelude = (
            "import json, django; django.setup()\n"
            "def emit(value): print('@@' + json.dumps(value, default=str))\n"
        )
        result = subprocess.run(  # noqa: S603 (our interpreter, our code)
            [sys.executable, "-c", prelude + code],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"stack snippet failed:\n{result.stderr[-4000:]}")
        lines = [ln[2:] for ln in result.stdout.splitlines() if ln.startswith("@@")]
        return json.loads(lines[-1]) if lines else None

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _postgres_database(env: dict[str, str]) -> tuple[str, callable]:
    """A fresh PostgreSQL database for the stack, next to the suite's; and how to drop it."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(env["DATABASE_URL"])
    name = f"{config['NAME']}_browser_{os.getpid()}"
    admin = dict(
        host=config["HOST"] or None, port=config["PORT"] or None, user=config["USER"] or None,
        password=config["PASSWORD"] or None, dbname="postgres", autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
    return url, drop


def _wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def _wait_for_log(path: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"{path.name}: no {text!r} within {timeout} s:\n{path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="happa-browser-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    drop_database = None
    if env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"], drop_database = _postgres_database(env)
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'browser.sqlite3'}"
    # Its own Redis database: the stack's queue and channel groups never meet other tests'.
    env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + "/3"
    port = free_port()
    env.update(
        DJANGO_SETTINGS_MODULE="happa.settings",
        DEBUG="false",
        STATIC_ROOT=str(workdir / "static"),
        STATIC_MANIFEST="false",
        SITE_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    stack = Stack(base_url=f"http://127.0.0.1:{port}", env=env, logs=workdir)
    try:
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            subprocess.run(  # noqa: S603 (fixed arguments)
                [sys.executable, "manage.py", *command, "-v", "0"],
                cwd=ROOT, env=env, check=True, timeout=300,
            )
        web_log = (workdir / "web.log").open("w")
        stack.processes.append(
            subprocess.Popen(  # noqa: S603 (fixed arguments)
                [sys.executable, "-m", "uvicorn", "happa.asgi:application",
                 "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT,
            )
        )
        worker_log = (workdir / "worker.log").open("w")
        worker = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [sys.executable, "-m", "celery", "-A", "happa", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             f"--hostname=browser-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
        )
        stack.processes.append(worker)
        wait_for_port(port, timeout=START_TIMEOUT)
        _wait_for_http(stack.url("/healthz"), START_TIMEOUT)
        _wait_for_log(workdir / "worker.log", "ready.", worker, START_TIMEOUT)
        yield stack
    finally:
        for process in reversed(stack.processes):
            _stop(process)
        if drop_database is not None:
            drop_database()
        if os.environ.get("HAPPA_KEEP_BROWSER_LOGS"):
            print(f"\nbrowser stack logs kept in {workdir}")  # noqa: T201 (asked for)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def seeded(stack: Stack) -> dict:
    """An organization with an owner, a viewer, a release and the catalog, in the stack's DB."""
    return stack.run(
        """
from allauth.account.models import EmailAddress
from accounts.models import Membership, Organization, Role, User
from clusters.models import InstanceType, KubernetesRelease

org, _ = Organization.objects.get_or_create(slug="acme", defaults={"name": "Acme"})
people = {}
for email, role in [("owner@acme.test", Role.OWNER), ("viewer@acme.test", Role.VIEWER)]:
    user = User.objects.create_user(email=email, password="correct horse battery staple")
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    Membership.objects.create(user=user, organization=org, role=role)
    people[role] = email
KubernetesRelease.objects.get_or_create(
    version="1.31.4", defaults={"is_default": True, "images": {"eu-central-1": "ami-12c6146b"}}
)
for name, vcpus, mem, price, rec in [
    ("m5.large", 2, 8192, "0.1150", True), ("m5.xlarge", 4, 16384, "0.2300", True),
    ("m5.2xlarge", 8, 32768, "0.4600", True), ("r5.large", 2, 16384, "0.1520", False),
    ("c5.xlarge", 4, 8192, "0.1940", False),
]:
    InstanceType.objects.get_or_create(name=name, defaults=dict(
        vcpus=vcpus, memory_mib=mem, hourly_price_usd=price, is_recommended=rec,
        regions=["eu-central-1"]))
emit({"org_id": org.id, "owner": people[Role.OWNER], "viewer": people[Role.VIEWER],
      "password": "correct horse battery staple"})
"""
    )


# Per module, not per session: while Playwright's sync API is open, its event loop counts as running
# in the main thread, and later tests that call async_to_sync there would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser, stack: Stack, email: str, password: str):  # noqa: ANN001, ANN201
    """A new browser context (its own cookies) signed in through the real login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(stack.url("/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(stack.url("/clusters/"))
    return page


def screenshot(page, name: str) -> None:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
