"""The test IdP process: `python -m tests.idp.serve <port>`, with IDP_DATA_DIR and IDP_SEED set."""

import os
import sys


def main() -> None:
    port = int(sys.argv[1])
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.idp.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import get_application_model

    call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    for user in settings.SEED.get("users", []):
        user_model.objects.create_user(username=user["username"], password=user["password"])
    application_model = get_application_model()
    for client in settings.SEED.get("clients", []):
        application_model.objects.create(
            name=client["client_id"],
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(client["redirect_uris"]),
            skip_authorization=True,
            algorithm=application_model.RS256_ALGORITHM,
        )
    WSGIServer.request_queue_size = 20
    run("127.0.0.1", port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
