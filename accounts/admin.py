"""The ops panel for accounts: organizations, people, invitations, SSO, tokens and the audit log.

Every change made here is written to the audit log too (`AuditedAdmin`), so an organization's
admins can see what the operator changed on their behalf.
"""

from __future__ import annotations

from typing import Any

from allauth.usersessions.admin import UserSessionAdmin as AllauthUserSessionAdmin
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import record_audit
from accounts.forms import OrganizationSettingsForm
from accounts.models import (
    ApiToken,
    AuditLogEntry,
    IdentityProvider,
    Invitation,
    Membership,
    Organization,
    User,
)


def organization_of(obj: object) -> Organization | None:
    if isinstance(obj, Organization):
        return obj
    return getattr(obj, "organization", None)


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit entry next to Django's own admin log for every add, change and delete.

    The admin calls these hooks for the change form (inlines included in `message`), for
    list_editable saves and for the bulk delete action alike.
    """

    def _audit(self, request: HttpRequest, obj: object, verb: str, **details: Any) -> None:
        record_audit(
            f"admin.{self.model._meta.model_name}.{verb}",
            organization=organization_of(obj),
            request=request,
            target=obj,
            **details,
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "created", changes=message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "changed", changes=message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self._audit(request, obj, "deleted")
        return super().log_deletions(request, queryset)


# --- People ---------------------------------------------------------------------------------


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization"]
    verbose_name_plural = "memberships"


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "is_superuser", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name"]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups", "user_permissions"]
    inlines = [UserMembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"],
                "fields": ["email", "usable_password", "password1", "password2"]}),
    ]

    def get_inline_instances(self, request: HttpRequest, obj: User | None = None) -> list:
        # The add page is the short creation form; memberships come after the user exists.
        return super().get_inline_instances(request, obj) if obj is not None else []


# --- Organizations --------------------------------------------------------------------------


class OrganizationMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name_plural = "members"


class OrganizationAdminForm(OrganizationSettingsForm):
    """The customers' settings form with its validation (CIDRs, SSH key, ARN), plus quotas."""

    class Meta(OrganizationSettingsForm.Meta):
        fields = [
            "name", "slug", "max_clusters", "max_nodes", "allowed_ssh_cidrs", "ssh_public_key",
            "aws_role_arn", "aws_external_id",
        ]


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin):
    form = OrganizationAdminForm
    list_display = ["name", "slug", "member_count", "max_clusters", "max_nodes", "created_at"]
    list_editable = ["max_clusters", "max_nodes"]
    # Not across memberships: that join would multiply the member counts.
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    inlines = [OrganizationMembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "created_at"]}),
        ("Quotas", {"fields": ["max_clusters", "max_nodes"]}),
        ("SSH", {"fields": ["allowed_ssh_cidrs", "ssh_public_key"]}),
        ("AWS", {"fields": ["aws_role_arn", "aws_external_id"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Organization) -> int:
        return obj.member_count


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__email", "user__name", "organization__slug", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin):
    list_display = ["email", "organization", "role", "invited_by", "expires_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization", "invited_by"]
    search_fields = ["email", "organization__slug", "organization__name"]
    autocomplete_fields = ["organization", "invited_by"]
    # The token is a bearer secret: ops can revoke (delete) an invitation but never see its link.
    exclude = ["token"]
    readonly_fields = ["created_at", "accepted_at", "accepted_by"]


# --- Single sign-on -------------------------------------------------------------------------


def https_by_default(field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Form fields of a model, with https assumed for a bare host name (Django 6's default)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class IdentityProviderAdminForm(forms.ModelForm):
    new_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the current secret.",
    )

    class Meta:
        model = IdentityProvider
        # Never the stored client_secret: new_client_secret above replaces it, write-only.
        fields = ["organization", "name", "issuer", "client_id", "groups_claim", "group_roles",
                  "default_role", "allowed_email_domains"]
        formfield_callback = https_by_default

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("new_client_secret"):
            self.add_error("new_client_secret", "A new identity provider needs its client secret.")
        return cleaned

    def save(self, commit: bool = True) -> IdentityProvider:
        if self.cleaned_data.get("new_client_secret"):
            self.instance.client_secret = self.cleaned_data["new_client_secret"]
        return super().save(commit)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(AuditedAdmin):
    form = IdentityProviderAdminForm
    # Issuers are https in production; a bare host gets https, as Django 6 will do by default.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "organization", "issuer", "client_id", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__slug", "organization__name", "issuer"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["redirect_uri", "created_at", "updated_at"]


# --- API tokens -----------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ["name", "prefix", "organization", "user", "role", "expires_at", "revoked_at"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization", "user"]
    search_fields = ["name", "prefix", "organization__slug", "user__email"]
    readonly_fields = [
        "organization", "user", "name", "role", "prefix", "token_hash", "created_at",
        "expires_at", "last_used_at", "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's secret is shown once to the person who makes it, in the UI or the CLI.
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("organization"):
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
            self._audit(request, token, "revoked", prefix=token.prefix)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


# --- Audit log ------------------------------------------------------------------------------


@admin.register(AuditLogEntry)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_label", "action", "target", "ip_address"]
    list_filter = ["action", ("organization", admin.RelatedOnlyFieldListFilter), "created_at"]
    list_select_related = ["organization"]
    search_fields = ["actor_label", "action", "target", "organization__slug", "ip_address"]
    date_hierarchy = "created_at"

    # The log is evidence: nobody edits or deletes it through the panel.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- Signed-in sessions (allauth.usersessions) ----------------------------------------------

# allauth's admin searches `user__username`, a field our e-mail-only User lacks (a search would
# fail with FieldError), and its delete removes the row but leaves the browser signed in.
admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(AllauthUserSessionAdmin):
    list_select_related = ["user"]
    search_fields = ["user__email", "ip"]
    actions = ["end_sessions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Sign out the selected sessions")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = 0
        for session in queryset.select_related("user"):
            session.end()
            record_audit(
                "admin.session_ended", organization=None, request=request,
                target=session.user.email, ip=session.ip,
            )
            ended += 1
        self.message_user(request, f"Signed out {ended} session(s).", messages.SUCCESS)
