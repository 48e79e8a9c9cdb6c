"""Organization pages: create, switch, settings, members, invitations, audit log, account and
its sessions.

Views check access, validate, call one function from accounts/members.py, render. Another
organization's page is a 404; a member without the admin role gets a 403 for admin changes.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts import members as ops
from accounts import sessions as user_sessions
from accounts.access import get_admin_membership_or_404, get_membership_or_404
from accounts.audit import record_audit
from accounts.forms import (
    ApiTokenForm,
    AuditFilterForm,
    InvitationForm,
    OrganizationCreateForm,
    OrganizationSettingsForm,
    ProfileForm,
    RoleForm,
    role_choices,
)
from accounts.middleware import SESSION_KEY
from accounts.models import ApiToken, AuditLogEntry, Invitation, Membership, Role
from accounts.tokens import TokenError, create_token, revoke_token

AUDIT_PAGE_SIZE = 50


@require_POST
@login_required
def switch_organization(request: HttpRequest) -> HttpResponse:
    membership = get_membership_or_404(request.user, request.POST.get("organization", ""))
    request.session[SESSION_KEY] = membership.organization_id
    messages.info(request, f"You are now working in {membership.organization.name}.")
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def create_organization(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = ops.create_organization(
            request.user, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"],
            request=request,
        )
        request.session[SESSION_KEY] = organization.id
        messages.success(request, f"Created {organization.name}. You are its owner.")
        return redirect("accounts:settings", organization.slug)
    status = 400 if form.is_bound else 200
    return render(request, "accounts/create.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def organization_settings(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership_or_404(request.user, slug)
    organization = membership.organization
    form = OrganizationSettingsForm(request.POST or None, instance=organization)
    if request.method == "POST":
        if form.is_valid():
            changed = {field: form.cleaned_data[field] for field in form.changed_data}
            ops.update_organization(membership, changed, request=request)
            messages.success(request, "Settings saved." if changed else "Nothing changed.")
            return redirect("accounts:settings", organization.slug)
        # The form validated against a copy; the page must still show the saved name.
        organization.refresh_from_db()
    return render(
        request,
        "accounts/settings.html",
        {"organization": organization, "membership": membership, "form": form},
        status=400 if form.is_bound else 200,
    )


def _members_context(membership: Membership, **extra: object) -> dict:
    organization = membership.organization
    members = organization.memberships.select_related("user").order_by("user__email")
    invitations = (
        organization.invitations.filter(accepted_at__isnull=True).select_related("invited_by")
        if membership.is_admin
        else Invitation.objects.none()
    )
    is_owner = membership.role == Role.OWNER
    context = {
        "organization": organization,
        "membership": membership,
        "members": members,
        "invitations": invitations,
        "role_choices": role_choices(is_owner),
        "invite_form": InvitationForm(for_owner=is_owner),
    }
    context.update(extra)
    return context


def _refuse(request: HttpRequest, membership: Membership, error: Exception, **extra) -> HttpResponse:
    """Show the members page again with the reason; nothing was changed."""
    messages.error(request, str(error))
    return render(
        request, "accounts/members.html", _members_context(membership, **extra), status=400
    )


@login_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership_or_404(request.user, slug)
    return render(request, "accounts/members.html", _members_context(membership))


def _target_membership(membership: Membership, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "organization"),
        pk=membership_id,
        organization=membership.organization,
    )


@require_POST
@login_required
def change_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = get_membership_or_404(request.user, slug)
    target = _target_membership(membership, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _refuse(request, membership, ValueError("Choose one of the listed roles."))
    try:
        ops.change_role(membership, target, form.cleaned_data["role"], request=request)
    except ops.MembershipRuleError as error:
        return _refuse(request, membership, error)
    messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("accounts:members", slug)


@require_POST
@login_required
def remove_member(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = get_membership_or_404(request.user, slug)
    target = _target_membership(membership, membership_id)
    leaving = target.pk == membership.pk
    try:
        ops.remove_member(membership, target, request=request)
    except ops.MembershipRuleError as error:
        return _refuse(request, membership, error)
    if leaving:
        messages.success(request, f"You left {membership.organization.name}.")
        request.session.pop(SESSION_KEY, None)
        return redirect("home")
    messages.success(request, f"Removed {target.user.email} from the organization.")
    return redirect("accounts:members", slug)


@require_POST
@login_required
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership_or_404(request.user, slug)
    form = InvitationForm(request.POST, for_owner=membership.role == Role.OWNER)
    if not form.is_valid():
        messages.error(request, "The invitation was not sent; see the form below.")
        return render(
            request, "accounts/members.html",
            _members_context(membership, invite_form=form), status=400,
        )
    try:
        invitation = ops.invite_member(
            membership, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
            request=request,
        )
    except ops.MembershipRuleError as error:
        return _refuse(request, membership, error, invite_form=form)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("accounts:members", slug)


def _invitation_of(membership: Membership, invitation_id: int) -> Invitation:
    return get_object_or_404(
        Invitation.objects.select_related("organization"),
        pk=invitation_id,
        organization=membership.organization,
    )


@require_POST
@login_required
def resend_invitation(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    membership = get_admin_membership_or_404(request.user, slug)
    invitation = _invitation_of(membership, invitation_id)
    try:
        ops.resend_invitation(membership, invitation, request=request)
    except ops.MembershipRuleError as error:
        return _refuse(request, membership, error)
    messages.success(request, f"Invitation sent again to {invitation.email}.")
    return redirect("accounts:members", slug)


@require_POST
@login_required
def revoke_invitation(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    membership = get_admin_membership_or_404(request.user, slug)
    invitation = _invitation_of(membership, invitation_id)
    try:
        ops.revoke_invitation(membership, invitation, request=request)
    except ops.MembershipRuleError as error:
        return _refuse(request, membership, error)
    messages.success(request, f"Revoked the invitation of {invitation.email}.")
    return redirect("accounts:members", slug)


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Open to anyone with the link: signed-out visitors are offered to sign in or sign up."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by").filter(token=token).first()
    )
    context: dict = {"invitation": invitation, "next": request.get_full_path()}
    if invitation is None:
        context["error"] = (
            "This invitation link is not valid. It may have been revoked, or the link was cut "
            "short; ask an admin of the organization for a new invitation."
        )
        return render(request, "accounts/invitation.html", context, status=404)
    user = request.user if request.user.is_authenticated else None
    try:
        ops.check_invitation(invitation, user)
    except ops.InvitationError as error:
        context["error"] = str(error)
        return render(request, "accounts/invitation.html", context, status=error.status)
    if request.method == "POST":
        if user is None:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        try:
            joined = ops.join_by_invitation(invitation, user, request=request)
        except ops.InvitationError as error:
            context["error"] = str(error)
            return render(request, "accounts/invitation.html", context, status=error.status)
        request.session[SESSION_KEY] = joined.organization_id
        messages.success(
            request,
            f"Welcome to {joined.organization.name}: you are {joined.get_role_display().lower()}.",
        )
        return redirect("home")
    return render(request, "accounts/invitation.html", context)


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership_or_404(request.user, slug)
    organization = membership.organization
    entries = AuditLogEntry.objects.filter(organization=organization)
    # order_by() drops the default ordering, which would otherwise defeat DISTINCT.
    actions = list(entries.order_by("action").values_list("action", flat=True).distinct())
    form = AuditFilterForm(request.GET or None, actions=actions)
    action = form.cleaned_data["action"] if form.is_valid() else ""
    if action:
        entries = entries.filter(action=action)
    page = Paginator(entries.order_by("-created_at", "-id"), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "organization": organization,
        "membership": membership,
        "form": form,
        "page": page,
        "action": action,
    }
    template = "accounts/audit.html"
    if request.htmx and not request.htmx.boosted:
        template += "#entries"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            if form.has_changed():
                form.save()
                record_audit(
                    "user.profile_changed", organization=None, request=request,
                    target=request.user.email, fields=form.changed_data,
                )
            messages.success(request, "Profile saved.")
            return redirect("accounts:account")
        request.user.refresh_from_db()
    memberships = request.user.memberships.select_related("organization").order_by(
        "organization__name"
    )
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "memberships": memberships,
            "invitations": ops.open_invitations_for(request.user),
        },
        status=400 if form.is_bound else 200,
    )


def _tokens_context(membership: Membership, **extra: object) -> dict:
    tokens = ApiToken.objects.filter(organization=membership.organization).select_related("user")
    if not membership.is_admin:
        tokens = tokens.filter(user=membership.user)
    context = {
        "organization": membership.organization,
        "membership": membership,
        "tokens": tokens.order_by("revoked_at", "-created_at"),
        "form": ApiTokenForm(max_role=membership.role),
        "now": timezone.now(),
    }
    context.update(extra)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    """Every member makes their own tokens (at most their role); admins see and revoke all."""
    membership = get_membership_or_404(request.user, slug)
    if request.method == "GET":
        return render(request, "accounts/tokens.html", _tokens_context(membership))
    form = ApiTokenForm(request.POST, max_role=membership.role)
    if not form.is_valid():
        return render(
            request, "accounts/tokens.html", _tokens_context(membership, form=form), status=400
        )
    days = form.cleaned_data["expires_in_days"]
    try:
        issued = create_token(
            request.user, membership.organization, name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            expires_in=timedelta(days=days) if days else None,
        )
    except TokenError as error:
        form.add_error(None, str(error))
        return render(
            request, "accounts/tokens.html", _tokens_context(membership, form=form), status=400
        )
    record_audit(
        "api_token.created", organization=membership.organization, request=request,
        target=issued.token, role=issued.token.role, prefix=issued.token.prefix,
    )
    # The secret is in this response only: it must not be cached anywhere on the way.
    response = render(
        request, "accounts/tokens.html", _tokens_context(membership, issued=issued)
    )
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
def revoke_api_token(request: HttpRequest, slug: str, token_id: int) -> HttpResponse:
    membership = get_membership_or_404(request.user, slug)
    token = get_object_or_404(ApiToken, pk=token_id, organization=membership.organization)
    if token.user_id != request.user.pk and not membership.is_admin:
        # Another member's token of the same organization: visible to admins only, so a 404.
        raise Http404("No such token.")
    if revoke_token(token):
        record_audit(
            "api_token.revoked", organization=membership.organization, request=request,
            target=token, owner=token.user.email, prefix=token.prefix,
        )
        messages.success(request, f"Revoked the token “{token.name}”.")
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    return redirect("accounts:tokens", slug)


@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    rows = user_sessions.list_sessions(request.user, request.session.session_key)
    return render(
        request, "accounts/sessions.html",
        {"sessions": rows, "others": sum(not row.is_current for row in rows)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm (it works without JavaScript); POST signs the other browsers out."""
    if request.method == "GET":
        rows = user_sessions.list_sessions(request.user, request.session.session_key)
        others = [row for row in rows if not row.is_current]
        return render(request, "accounts/sessions_confirm.html", {"others": others})
    ended = user_sessions.end_other_sessions(request)
    if ended:
        messages.success(request, f"Signed out {ended} other session{'s' if ended != 1 else ''}.")
    else:
        messages.info(request, "There were no other sessions to sign out.")
    return redirect("accounts:sessions")


@require_POST
@login_required
def end_session(request: HttpRequest, session_id: int) -> HttpResponse:
    session = user_sessions.get_session_of(request.user, session_id)  # 404 for anyone else's
    if user_sessions.end_session(request, session):
        return redirect("account_login")
    messages.success(request, "Signed that session out.")
    return redirect("accounts:sessions")
