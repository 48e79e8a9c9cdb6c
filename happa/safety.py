"""Refuse to start with settings that are unsafe in production, saying what to change."""

from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_KEY_LENGTH = 50


def check_production_safety(
    *,
    debug: bool,
    secret_key: str,
    insecure_dev_key: str,
    allowed_hosts: list[str],
    loopback_hosts: list[str],
) -> None:
    """Raise ImproperlyConfigured for a combination that would expose an insecure site."""
    if debug:
        public = [host for host in allowed_hosts if host not in loopback_hosts]
        if public:
            raise ImproperlyConfigured(
                "DEBUG=true with a public host in ALLOWED_HOSTS "
                f"({', '.join(public)}): debug pages leak settings and source. Unset DEBUG for a "
                "public site, or keep DEBUG=true on 127.0.0.1/localhost only."
            )
        return
    if secret_key == insecure_dev_key:
        raise ImproperlyConfigured(
            "SECRET_KEY is the built-in development key, which anyone can read in the source. "
            "Set SECRET_KEY to a long random value."
        )
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"SECRET_KEY is {len(secret_key)} characters long; use at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters."
        )
    if not allowed_hosts:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is empty: set it to the host names the site answers to, "
            "comma-separated (for example ALLOWED_HOSTS=happa.example.com)."
        )
