"""Start-up as an operator meets it: the real settings module in a fresh interpreter."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(env)
    return subprocess.run(  # noqa: S603 (fixed command)
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False,
    )


def test_start_up_without_secret_key_says_what_to_set():
    result = run_manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_start_up_with_debug_and_a_public_host_is_refused():
    result = run_manage("check", DEBUG="true", ALLOWED_HOSTS="happa.example.com")
    assert result.returncode != 0
    assert "DEBUG=true with a public host" in result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        SECRET_KEY="p" * 30 + "roduction-secret-key-0123456789-abcdefgh",
        ALLOWED_HOSTS="happa.example.com",
        SECURE_SSL_REDIRECT="true",
        SECURE_COOKIES="true",
        SECURE_HSTS_SECONDS="31536000",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
