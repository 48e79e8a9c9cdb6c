"""The versioned REST API, /api/v1/ (routes land in api/)."""

urlpatterns: list = []
