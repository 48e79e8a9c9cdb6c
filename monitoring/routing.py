"""Websocket routes (served by happa/asgi.py behind AuthMiddlewareStack and the origin check)."""

from django.urls import path

from monitoring.consumers import ClusterConsumer, OrganizationConsumer

websocket_urlpatterns = [
    path("ws/clusters/<str:cluster_id>/", ClusterConsumer.as_asgi()),
    path("ws/organizations/<int:organization_id>/", OrganizationConsumer.as_asgi()),
]
