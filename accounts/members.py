"""Organizations and their members: create, change roles, remove, invite, join.

Each function checks the acting member's rights, changes the rows, and writes one audit entry.
A rule that refuses the change raises `MembershipRuleError` (its message is shown to the user)
and changes nothing; a non-admin attempting an admin-only change gets `PermissionDenied403`.
"""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.access import require_admin
from accounts.audit import record_audit
from accounts.models import Invitation, Membership, Organization, Role, User

INVITATION_LIFETIME = timedelta(days=7)

# Higher means more rights; used to tell escalation from demotion.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class MembershipRuleError(Exception):
    """A change that the organization's rules refuse; the message says why."""


class InvitationError(Exception):
    """An invitation that cannot be accepted; the message says why, `status` how to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- Organizations --------------------------------------------------------------------------


@transaction.atomic
def create_organization(
    user: User, *, name: str, slug: str, request: HttpRequest | None = None
) -> Organization:
    """A new organization with `user` as its owner."""
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    record_audit(
        "organization.created", organization=organization, actor=user, request=request,
        target=organization.slug, name=name,
    )
    return organization


def update_organization(
    membership: Membership, changed: dict[str, object], request: HttpRequest | None = None
) -> None:
    """Save the organization's settings; `changed` maps field names to their new values."""
    require_admin(membership)
    organization = membership.organization
    if not changed:
        return
    with transaction.atomic():
        for field, value in changed.items():
            setattr(organization, field, value)
        organization.save(update_fields=list(changed))
        # Field names only: an SSH key or external id does not belong in a log others read.
        record_audit(
            "organization.settings_changed", organization=organization, actor=membership.user,
            request=request, target=organization.slug, fields=sorted(changed),
        )


# --- Members --------------------------------------------------------------------------------


def _owners_locked(organization: Organization) -> int:
    """How many owners the organization has, with their rows locked until the transaction ends.

    Locking the owners' rows serializes two admins demoting the last two owners at once.
    """
    return len(
        list(
            Membership.objects.select_for_update()
            .filter(organization=organization, role=Role.OWNER)
            .values_list("pk", flat=True)
        )
    )


def change_role(
    actor: Membership, target: Membership, role: str, request: HttpRequest | None = None
) -> None:
    """Give `target` a new role, under the rules below."""
    if role not in Role.values:
        raise MembershipRuleError(f"“{role}” is not a role.")
    require_admin(actor)
    if target.organization_id != actor.organization_id:
        raise MembershipRuleError("That person is not a member of this organization.")
    if role == target.role:
        return
    if Role.OWNER in (role, target.role) and actor.role != Role.OWNER:
        raise MembershipRuleError("Only an owner can make someone an owner or change an owner.")
    if target.pk == actor.pk and ROLE_RANK[role] > ROLE_RANK[Role(actor.role)]:
        raise MembershipRuleError("You cannot raise your own role.")
    with transaction.atomic():
        if target.role == Role.OWNER and _owners_locked(target.organization) <= 1:
            raise MembershipRuleError(
                "This is the organization's last owner. Make someone else an owner first."
            )
        previous = target.role
        target.role = role
        target.save(update_fields=["role"])
        record_audit(
            "membership.role_changed", organization=target.organization, actor=actor.user,
            request=request, target=target.user.email, previous=previous, role=role,
        )


def remove_member(actor: Membership, target: Membership, request: HttpRequest | None = None) -> None:
    """Remove `target` from the organization; members may also remove themselves (leave)."""
    leaving = target.pk == actor.pk
    if not leaving:
        require_admin(actor)
    if target.organization_id != actor.organization_id:
        raise MembershipRuleError("That person is not a member of this organization.")
    if target.role == Role.OWNER and not leaving and actor.role != Role.OWNER:
        raise MembershipRuleError("Only an owner can remove an owner.")
    with transaction.atomic():
        if target.role == Role.OWNER and _owners_locked(target.organization) <= 1:
            raise MembershipRuleError(
                "This is the organization's last owner. Make someone else an owner first."
            )
        target.delete()
        record_audit(
            "membership.left" if leaving else "membership.removed",
            organization=target.organization, actor=actor.user, request=request,
            target=target.user.email, role=target.role,
        )


# --- Invitations ----------------------------------------------------------------------------


def invitation_url(invitation: Invitation) -> str:
    return f"{settings.SITE_URL}{invitation.get_absolute_url()}"


def send_invitation_email(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "url": invitation_url(invitation),
        "inviter": invitation.invited_by,
    }
    send_mail(
        subject=f"You are invited to {invitation.organization.name} on Happa",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invite_member(
    actor: Membership, *, email: str, role: str, request: HttpRequest | None = None
) -> Invitation:
    """Invite `email` to the organization with `role` and send them the link."""
    require_admin(actor)
    organization = actor.organization
    email = email.strip().lower()
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise MembershipRuleError("Only an owner can invite an owner.")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise MembershipRuleError(f"{email} is already a member of {organization.name}.")
    open_invitations = Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if open_invitations.exists():
        raise MembershipRuleError(
            f"{email} already has an open invitation. Resend it or revoke it first."
        )
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=actor.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    record_audit(
        "invitation.created", organization=organization, actor=actor.user, request=request,
        target=email, role=role,
    )
    # After commit: a rolled-back invitation must not leave a working link in someone's inbox.
    transaction.on_commit(lambda: send_invitation_email(invitation))
    return invitation


def resend_invitation(
    actor: Membership, invitation: Invitation, request: HttpRequest | None = None
) -> None:
    """Send the link again and give it a fresh lifetime."""
    require_admin(actor)
    if invitation.accepted_at is not None:
        raise MembershipRuleError(f"{invitation.email} has already accepted this invitation.")
    if invitation.role == Role.OWNER and actor.role != Role.OWNER:
        raise MembershipRuleError("Only an owner can resend an invitation to become an owner.")
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save(update_fields=["expires_at"])
    record_audit(
        "invitation.resent", organization=invitation.organization, actor=actor.user,
        request=request, target=invitation.email,
    )
    transaction.on_commit(lambda: send_invitation_email(invitation))


def revoke_invitation(
    actor: Membership, invitation: Invitation, request: HttpRequest | None = None
) -> None:
    """Delete the invitation: its link stops working at once."""
    require_admin(actor)
    if invitation.accepted_at is not None:
        raise MembershipRuleError(
            f"{invitation.email} has already joined; remove the member instead."
        )
    invitation.delete()
    record_audit(
        "invitation.revoked", organization=invitation.organization, actor=actor.user,
        request=request, target=invitation.email, role=invitation.role,
    )


def has_email(user: User, email: str) -> bool:
    """Whether the address is the user's login or one of their verified addresses."""
    if user.email.lower() == email.lower():
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def open_invitations_for(user: User) -> list[Invitation]:
    """Open invitations to the user's login address or verified addresses, not yet joined."""
    addresses = {user.email.lower()} | {
        email.lower()
        for email in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }
    invitations = (
        Invitation.objects.filter(accepted_at__isnull=True, expires_at__gt=timezone.now())
        .exclude(organization__memberships__user=user)
        .select_related("organization")
    )
    matches_address = Q()
    for address in addresses:
        matches_address |= Q(email__iexact=address)
    return list(invitations.filter(matches_address))


def check_invitation(invitation: Invitation, user: User | None) -> None:
    """Raise InvitationError if `user` (None: not signed in yet) cannot accept it now."""
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.", status=410)
    if invitation.expires_at <= timezone.now():
        raise InvitationError(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Ask an admin of the organization to send it again.",
            status=410,
        )
    if user is not None and not has_email(user, invitation.email):
        raise InvitationError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out and sign in (or sign up) with {invitation.email}.",
            status=403,
        )


def join_by_invitation(
    invitation: Invitation, user: User, request: HttpRequest | None = None
) -> Membership:
    """Accept the invitation for `user`: they become a member with the invited role."""
    with transaction.atomic():
        # Re-read under lock: two clicks on the link must not both succeed.
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        check_invitation(invitation, user)
        existing = Membership.objects.filter(organization=invitation.organization, user=user)
        membership = existing.first()
        if membership is None:
            try:
                with transaction.atomic():
                    membership = Membership.objects.create(
                        organization=invitation.organization, user=user, role=invitation.role
                    )
            except IntegrityError:
                membership = existing.get()
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        record_audit(
            "invitation.accepted", organization=invitation.organization, actor=user,
            request=request, target=user.email, role=membership.role,
        )
    return membership
