"""The versioned REST API, /api/v1/ (routes in api/routes/)."""

from django.urls import path

from api.main import api

urlpatterns = [path("", api.urls)]
