from django.contrib import admin
from django.urls import include, path

from happa import views
from monitoring.views import metrics_endpoint

admin.site.site_header = "Happa operations"
admin.site.site_title = "Happa ops"
admin.site.index_title = "Every organization, member, cluster and alert"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_endpoint, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("orgs/", include("accounts.urls")),
    path("clusters/", include("clusters.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("api/v1/", include("api.urls")),
    path("ops/oidc/", include("mozilla_django_oidc.urls")),
    path("ops/", admin.site.urls),
]

