"""Sets request.organization and request.membership: the organization the user works in now."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.models import Membership

SESSION_KEY = "current_organization_id"


def resolve_current_membership(request: HttpRequest) -> Membership | None:
    """The chosen organization's membership, else the user's first; None for a user with none."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organization").filter(user=user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        membership = memberships.filter(organization_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.order_by("organization__name").first()


class CurrentOrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = resolve_current_membership(request)
        request.membership = membership
        request.organization = membership.organization if membership else None
        return self.get_response(request)
