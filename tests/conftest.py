import pytest

from accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

# The SSO tests' real OpenID Provider (one process per session) and its helpers.
pytest_plugins = ["tests.idp.fixtures"]


@pytest.fixture
def organization(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(slug="globex", name="Globex")


def member_of(organization, role: str = Role.MEMBER, **user_fields):
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def owner(organization):
    return member_of(organization, Role.OWNER, email="owner@acme.test")


@pytest.fixture
def member(organization):
    return member_of(organization, Role.MEMBER, email="member@acme.test")


@pytest.fixture
def viewer(organization):
    return member_of(organization, Role.VIEWER, email="viewer@acme.test")


@pytest.fixture
def outsider(other_organization):
    return member_of(other_organization, Role.OWNER, email="owner@globex.test")
