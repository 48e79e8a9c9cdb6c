"""The sign-in page says clearly why a local sign-in did not work."""

import uuid

import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, email: str, password: str):  # noqa: ANN001, ANN201
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, follow=True
    )


@pytest.fixture
def user():
    # A fresh address per test: allauth's failed-login counter is keyed by it (in the cache).
    return UserFactory(email=f"signin-{uuid.uuid4().hex[:10]}@example.test")


def test_a_wrong_password_says_so_and_signs_nobody_in(client, user):
    response = sign_in(client, user.email, "not the password")

    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_a_disabled_account_is_told_it_is_inactive(client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = sign_in(client, user.email, TEST_PASSWORD)

    assert response.redirect_chain[-1][0] == reverse("account_inactive")
    assert "This account is inactive." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_too_many_failed_attempts_lock_the_account_for_a_while(client, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "100/m/ip,3/5m/key"}
    for _ in range(3):
        sign_in(client, user.email, "not the password")

    response = sign_in(client, user.email, TEST_PASSWORD)  # even the right password, for now

    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_account_not_for_everyone(client, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "100/m/ip,3/5m/key"}
    for _ in range(3):
        sign_in(client, user.email, "not the password")
    other = UserFactory(email=f"signin-{uuid.uuid4().hex[:10]}@example.test")

    sign_in(client, other.email, TEST_PASSWORD)

    assert client.session["_auth_user_id"] == str(other.pk)
