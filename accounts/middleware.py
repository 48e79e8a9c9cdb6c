"""Request middleware: the current organization (request.organization and request.membership),
and throttled activity tracking for the account's sessions list."""

from collections.abc import Callable

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.cache import cache
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


class UserSessionActivityMiddleware:
    """allauth's UserSessionsMiddleware, at most one write per session per
    USERSESSIONS_ACTIVITY_SECONDS.

    allauth's own middleware updates the session's row (IP, user agent, last seen) on every
    authenticated request: one write per page view and per htmx swap, which on SQLite takes the
    database's write lock each time. "Last seen" to the minute is all the sessions page needs, so a
    Redis key (cache.add is atomic) lets one request per minute through. The write also creates
    the row for sessions that began before usersessions was installed, so they are listed too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session_key = request.session.session_key if hasattr(request, "session") else None
        if session_key and request.user.is_authenticated and cache.add(
            f"usersession-seen:{session_key}", 1, timeout=settings.USERSESSIONS_ACTIVITY_SECONDS
        ):
            UserSession.objects.create_from_request(request)
        return self.get_response(request)
