"""Helpers for websocket tests: a session-authenticated communicator on the real ASGI app."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from happa.asgi import application


def session_headers(user) -> list[tuple[bytes, bytes]]:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_id}".encode()),
        (b"origin", b"http://testserver"),
    ]


ANONYMOUS = [(b"origin", b"http://testserver")]


def communicator(path: str, headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    """Build inside the async scenario; compute `headers` (session_headers) before it, in sync."""
    return WebsocketCommunicator(application, path, headers=headers)
