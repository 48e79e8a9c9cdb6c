from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict:
    return {"aws_sandbox": settings.AWS_SANDBOX, "aws_region": settings.AWS_DEFAULT_REGION}
