from django.contrib import admin
from django.urls import include, path

from accounts import sso_views
from happa import views
from monitoring.views import metrics_endpoint

admin.site.site_header = "Happa operations"
admin.site.site_title = "Happa ops"
admin.site.index_title = "Every organization, member, cluster and alert"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_endpoint, name="metrics"),
    # Ahead of allauth's own view at the same path: verifies ID-token signatures (accounts/sso.py).
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        sso_views.oidc_callback,
        name="sso_oidc_callback",
    ),
    path("accounts/", include("allauth.urls")),
    path("orgs/", include("accounts.urls")),
    path("clusters/", include("clusters.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("api/v1/", include("api.urls")),
    path("ops/oidc/", include("mozilla_django_oidc.urls")),
    path("ops/", admin.site.urls),
]

