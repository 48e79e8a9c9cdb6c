import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Factories hash a password per user; the production hasher costs ~1 s of CPU each here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
