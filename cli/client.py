"""A small client of the public HTTP API (/api/v1/): JSON in, JSON out, errors as exceptions."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from cli import __version__
from cli.errors import ApiFailure, HappaError, NotFound

MAX_ATTEMPTS = 3
MAX_RETRY_WAIT = 30.0


class Client:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.url + "/api/v1",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"happa-cli/{__version__}",
            },
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        idempotent: bool = False,
    ) -> Any:
        headers = {}
        if idempotent:
            # One key for every attempt of this one command: a retry never makes a second one.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.http.request(
                    method, path, params=params, json=json, headers=headers
                )
            except httpx.TransportError as error:
                if attempt == MAX_ATTEMPTS or (method != "GET" and not idempotent):
                    raise HappaError(f"Cannot reach {self.url}: {error}") from None
                time.sleep(attempt)
                continue
            if response.status_code == 429 and attempt < MAX_ATTEMPTS:
                time.sleep(min(float(response.headers.get("Retry-After", "1")), MAX_RETRY_WAIT))
                continue
            return self._answer(response)
        raise HappaError("Too many attempts.")  # not reached: the last attempt returns or raises

    def _answer(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:200] or f"HTTP {response.status_code}"}
        if response.status_code >= 400:
            if not isinstance(body, dict):
                body = {"message": str(body)}
            raise ApiFailure(response.status_code, body)
        return body

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def list_all(self, path: str, **params: Any) -> list[dict]:
        """Every item of a paginated list, page by page."""
        items: list[dict] = []
        offset = 0
        while True:
            page = self.get(path, limit=200, offset=offset, **params)
            items.extend(page["items"])
            if page.get("next_offset") is None:
                return items
            offset = page["next_offset"]

    def find_cluster(self, ref: str) -> dict:
        """A cluster by id, else by name."""
        try:
            return self.get(f"/clusters/{ref}")
        except ApiFailure as error:
            if error.status != 404:
                raise
        matches = self.get("/clusters", name=ref)["items"]
        if len(matches) == 1:
            return matches[0]
        raise NotFound(f"No cluster with the id or name {ref!r}.")

    def find_pool(self, cluster: dict, ref: str) -> dict:
        pools = self.list_all(f"/clusters/{cluster['id']}/node-pools")
        for pool in pools:
            if pool["name"] == ref or str(pool["id"]) == ref:
                return pool
        raise NotFound(f"No node pool {ref!r} in cluster {cluster['id']}.")
