import pytest
from django.core.exceptions import ImproperlyConfigured

from happa.safety import check_production_safety

LOOPBACK = ["127.0.0.1", "localhost", "[::1]"]
DEV_KEY = "django-insecure-dev"
GOOD_KEY = "k" * 64


def check(**overrides):
    values = dict(
        debug=False,
        secret_key=GOOD_KEY,
        insecure_dev_key=DEV_KEY,
        allowed_hosts=["happa.example.com"],
        loopback_hosts=LOOPBACK,
    )
    values.update(overrides)
    check_production_safety(**values)


def test_production_settings_with_a_long_key_and_a_host_are_accepted():
    check()


def test_debug_on_loopback_is_accepted():
    check(debug=True, secret_key=DEV_KEY, allowed_hosts=LOOPBACK)


def test_debug_with_a_public_host_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DEBUG=true with a public host"):
        check(debug=True, allowed_hosts=["127.0.0.1", "happa.example.com"])


def test_the_development_key_is_refused_in_production():
    with pytest.raises(ImproperlyConfigured, match="built-in development key"):
        check(secret_key=DEV_KEY)


def test_a_short_secret_key_is_refused_in_production():
    with pytest.raises(ImproperlyConfigured, match="at least 50"):
        check(secret_key="short")


def test_production_without_allowed_hosts_is_refused():
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS is empty"):
        check(allowed_hosts=[])
