from django.urls import path

from accounts import sso_views, views

app_name = "accounts"

urlpatterns = [
    path("new/", views.create_organization, name="create"),
    path("switch/", views.switch_organization, name="switch"),
    path("account/", views.account, name="account"),
    path("account/sessions/", views.sessions, name="sessions"),
    path("account/sessions/others/end/", views.end_other_sessions, name="end_other_sessions"),
    path("account/sessions/<int:session_id>/end/", views.end_session, name="end_session"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("<slug:slug>/settings/", views.organization_settings, name="settings"),
    path("<slug:slug>/members/", views.members, name="members"),
    path("<slug:slug>/members/<int:membership_id>/role/", views.change_role, name="change_role"),
    path(
        "<slug:slug>/members/<int:membership_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
    path("<slug:slug>/invitations/", views.invite, name="invite"),
    path(
        "<slug:slug>/invitations/<int:invitation_id>/resend/",
        views.resend_invitation,
        name="resend_invitation",
    ),
    path(
        "<slug:slug>/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("<slug:slug>/audit/", views.audit_log, name="audit"),
    path("<slug:slug>/tokens/", views.api_tokens, name="tokens"),
    path(
        "<slug:slug>/tokens/<int:token_id>/revoke/",
        views.revoke_api_token,
        name="revoke_token",
    ),
    path("<slug:slug>/sso/", sso_views.sso_settings, name="sso"),
    path("<slug:slug>/sso/delete/", sso_views.sso_delete, name="sso_delete"),
]
