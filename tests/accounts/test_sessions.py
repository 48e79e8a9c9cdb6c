"""The account's sessions page: every browser signed in as you, and signing them out."""

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import AuditLogEntry
from accounts.sessions import describe_user_agent
from tests.factories import TEST_PASSWORD, UserFactory

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
SESSIONS = reverse("accounts:sessions")
END_OTHERS = reverse("accounts:end_other_sessions")


def signed_in(email: str, user_agent: str, ip: str) -> Client:
    """A browser that signed in through the real login form (allauth records the session)."""
    browser = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = browser.post(reverse("account_login"), {"login": email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return browser


def is_signed_in(browser: Client) -> bool:
    return browser.get(reverse("accounts:account")).status_code == 200


@pytest.fixture
def user(db):
    return UserFactory(email="ada@example.test")


@pytest.fixture
def laptop(user):
    return signed_in(user.email, FIREFOX, "203.0.113.7")


@pytest.fixture
def phone(user):
    return signed_in(user.email, IPHONE, "198.51.100.23")


def test_a_second_session_appears_in_the_list(laptop, phone):
    page = laptop.get(SESSIONS).content.decode()
    assert "Firefox on Windows" in page
    assert "203.0.113.7" in page
    assert "Safari on iOS" in page
    assert "198.51.100.23" in page
    assert page.count("This session") == 1
    assert page.index("This session") < page.index("Safari on iOS")


def test_the_account_page_links_to_the_sessions_page(laptop):
    assert f'href="{SESSIONS}"' in laptop.get(reverse("accounts:account")).content.decode()


def test_signing_out_other_sessions_asks_first_and_ends_nothing(laptop, phone):
    response = laptop.get(END_OTHERS)
    assert response.status_code == 200
    assert "Safari on iOS" in response.content.decode()
    assert is_signed_in(phone)
    assert UserSession.objects.count() == 2


def test_signing_out_other_sessions_signs_the_other_browser_out(laptop, phone, user):
    response = laptop.post(END_OTHERS)
    assert response.status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)
    assert UserSession.objects.filter(user=user).count() == 1
    assert AuditLogEntry.objects.get(action="user.other_sessions_ended").details["count"] == 1


def test_one_other_session_can_be_signed_out(laptop, phone, user):
    third = signed_in(user.email, FIREFOX, "192.0.2.9")
    target = UserSession.objects.get(ip="198.51.100.23")
    response = laptop.post(reverse("accounts:end_session", args=[target.pk]))
    assert response.status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)
    assert is_signed_in(third)


def test_signing_out_this_session_signs_this_browser_out(laptop, phone):
    mine = UserSession.objects.get(ip="203.0.113.7")
    response = laptop.post(reverse("accounts:end_session", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert not is_signed_in(laptop)
    assert is_signed_in(phone)


def test_another_users_sessions_are_never_listed(laptop, db):
    stranger = UserFactory(email="eve@example.test")
    signed_in(stranger.email, IPHONE, "198.51.100.99")
    page = laptop.get(SESSIONS).content.decode()
    assert "198.51.100.99" not in page
    assert "Safari on iOS" not in page


def test_another_users_session_cannot_be_ended(laptop, db):
    stranger = UserFactory(email="eve@example.test")
    theirs = signed_in(stranger.email, IPHONE, "198.51.100.99")
    target = UserSession.objects.get(user=stranger)
    response = laptop.post(reverse("accounts:end_session", args=[target.pk]))
    assert response.status_code == 404
    assert is_signed_in(theirs)
    assert UserSession.objects.filter(pk=target.pk).exists()


def test_signing_out_others_leaves_other_users_signed_in(laptop, db):
    stranger = UserFactory(email="eve@example.test")
    theirs = signed_in(stranger.email, IPHONE, "198.51.100.99")
    laptop.post(END_OTHERS)
    assert is_signed_in(theirs)


def test_a_session_without_a_record_is_listed_after_its_next_request(client, user):
    # Sessions that began before usersessions was installed have no row until they are seen.
    client.force_login(user)
    assert not UserSession.objects.filter(user=user).exists()
    page = client.get(SESSIONS, HTTP_USER_AGENT=FIREFOX).content.decode()
    assert "This session" in page
    assert UserSession.objects.filter(user=user).count() == 1


def test_last_seen_is_written_at_most_once_per_interval(laptop, user):
    laptop.get(reverse("accounts:account"))  # the first request after sign-in starts the interval
    session = UserSession.objects.get(user=user)
    long_ago = session.last_seen_at - timedelta(hours=3)
    UserSession.objects.filter(pk=session.pk).update(last_seen_at=long_ago, ip="192.0.2.1")
    laptop.get(reverse("accounts:account"))  # within the interval: no write
    session.refresh_from_db()
    assert session.last_seen_at == long_ago
    cache.delete(f"usersession-seen:{session.session_key}")  # the interval has passed
    laptop.get(reverse("accounts:account"))
    session.refresh_from_db()
    assert session.last_seen_at > long_ago
    assert session.ip == "203.0.113.7"


def test_the_sessions_page_needs_a_signed_in_user(client):
    response = client.get(SESSIONS)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_allauths_own_sessions_page_points_to_the_account_page(laptop):
    page = laptop.get(reverse("usersessions_list")).content.decode()
    assert f'href="{SESSIONS}"' in page


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        (FIREFOX, "Firefox on Windows"),
        (IPHONE, "Safari on iOS"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on Linux",
        ),
        ("curl/8.11.0", "curl"),
        ("", "Unknown browser"),
    ],
)
def test_user_agents_are_described_by_browser_and_system(user_agent, described):
    assert describe_user_agent(user_agent) == described


# --- the ops panel --------------------------------------------------------------------------


@pytest.fixture
def ops_client(db):
    ops = UserFactory(email="ops@happa.test", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(ops)
    return browser


def test_the_ops_panel_lists_and_searches_sessions_by_email(ops_client, laptop, db):
    stranger = UserFactory(email="eve@example.test")
    signed_in(stranger.email, IPHONE, "198.51.100.99")
    url = reverse("admin:usersessions_usersession_changelist")
    response = ops_client.get(url, {"q": "ada@"})
    assert response.status_code == 200
    assert "203.0.113.7" in response.content.decode()
    assert "198.51.100.99" not in response.content.decode()


def test_the_ops_panel_shows_one_session(ops_client, laptop):
    session = UserSession.objects.get(ip="203.0.113.7")
    url = reverse("admin:usersessions_usersession_change", args=[session.pk])
    assert ops_client.get(url).status_code == 200


def test_the_ops_panel_can_sign_a_session_out(ops_client, laptop):
    session = UserSession.objects.get(ip="203.0.113.7")
    response = ops_client.post(
        reverse("admin:usersessions_usersession_changelist"),
        {"action": "end_sessions", "_selected_action": [str(session.pk)]},
    )
    assert response.status_code == 302
    assert not is_signed_in(laptop)
    assert AuditLogEntry.objects.filter(action="admin.session_ended").exists()
