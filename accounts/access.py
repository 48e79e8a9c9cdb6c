"""Who may see and change what. Another tenant's object is a 404, never a 403 that confirms it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts.models import Membership, Organization, User


class PermissionDenied403(PermissionDenied):
    """Raised when a member of the right organization lacks the role for a change."""


def membership_for(user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def get_membership_or_404(user: User, slug: str) -> Membership:
    """The user's membership in the organization with this slug; 404 if there is none."""
    if not user.is_authenticated:
        raise Http404("No such organization.")
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )
    if membership is None:
        raise Http404("No such organization.")
    return membership


def get_admin_membership_or_404(user: User, slug: str) -> Membership:
    """The user's membership if they administer the organization.

    404 for an organization they do not belong to; 403 for a member without the admin role (they
    already know the organization exists, so the refusal confirms nothing new).
    """
    membership = get_membership_or_404(user, slug)
    require_admin(membership)
    return membership


def require_admin(membership: Membership) -> None:
    if not membership.is_admin:
        raise PermissionDenied403("Only the organization's owners and admins can do this.")


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the organization the user is working in (see the middleware)."""
    return getattr(request, "membership", None)
