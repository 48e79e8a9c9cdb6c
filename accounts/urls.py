from django.urls import path

from accounts import sso_views, views

app_name = "accounts"

urlpatterns = [
    path("switch/", views.switch_organization, name="switch"),
    path("<slug:slug>/settings/", views.organization_settings, name="settings"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("<slug:slug>/sso/", sso_views.sso_settings, name="sso"),
    path("<slug:slug>/sso/delete/", sso_views.sso_delete, name="sso_delete"),
]
