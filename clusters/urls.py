from django.urls import path

from clusters import views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("new/", views.cluster_create, name="create"),
    path("new/preview/", views.cluster_preview, name="preview"),
    path("<str:cluster_id>/", views.cluster_detail, name="detail"),
    path("<str:cluster_id>/diagram/", views.cluster_diagram, name="diagram"),
    path("<str:cluster_id>/delete/", views.cluster_delete, name="delete"),
    path("<str:cluster_id>/retry/", views.cluster_retry, name="retry"),
    path("<str:cluster_id>/pools/", views.pool_add, name="pool_add"),
    path("<str:cluster_id>/pools/<int:pool_id>/scale/", views.pool_scale, name="pool_scale"),
    path("<str:cluster_id>/pools/<int:pool_id>/delete/", views.pool_delete, name="pool_delete"),
]
