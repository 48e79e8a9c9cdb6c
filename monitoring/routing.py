"""Websocket routes. The live-status consumer arrives with the monitoring issue."""

websocket_urlpatterns: list = []
