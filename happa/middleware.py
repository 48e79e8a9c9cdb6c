"""Site-wide request guards."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "Text must not contain NUL (0x00) characters."


def carries_nul(request: HttpRequest) -> bool:
    """Whether the path, the query string or a JSON body holds a NUL character.

    PostgreSQL can neither store nor compare text with NUL, so a lookup with one would fail deep
    in a query (a 500); no legitimate request carries one. Django's forms refuse NUL already; this
    covers URLs and the API's JSON bodies in one place.
    """
    if "\x00" in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if request.content_type == "application/json":
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    return False


class RejectNulCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if carries_nul(request):
            if request.path.startswith("/api/"):
                # 422, like every other input the API refuses (documented on each operation).
                return JsonResponse(
                    {"error": "invalid", "message": NUL_MESSAGE, "fields": {}}, status=422
                )
            return HttpResponseBadRequest(NUL_MESSAGE)
        return self.get_response(request)
