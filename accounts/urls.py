from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("switch/", views.switch_organization, name="switch"),
    path("<slug:slug>/settings/", views.organization_settings, name="settings"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
]
