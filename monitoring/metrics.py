"""Prometheus metrics, written in the text exposition format by hand (no client library here).

The websocket gauge is shared by every ASGI process through one Redis hash: each process keeps its
own field (host:pid) so that a restart starts that field again from 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import weakref

import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)

CONNECTIONS_KEY = "happa:monitoring:ws-connections"
PROCESS_FIELD = f"{socket.gethostname()}:{os.getpid()}"

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        _clients[loop] = client
    return client


async def _change_connections(delta: int) -> None:
    try:
        await _client().hincrby(CONNECTIONS_KEY, PROCESS_FIELD, delta)
    except Exception:  # noqa: BLE001 - a gauge must never break a socket
        log.warning("could not update the websocket gauge", exc_info=True)


async def connection_opened() -> None:
    await _change_connections(+1)


async def connection_closed() -> None:
    await _change_connections(-1)
