"""The UI shell: the home page and the health probe."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Signed-in users start at their organization's clusters."""
    return redirect("clusters:list")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and `make run`: answers once the web process can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
