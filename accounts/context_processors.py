from django.http import HttpRequest

from accounts.models import Membership


def organization(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": Membership.objects.select_related("organization").filter(user=user),
    }
