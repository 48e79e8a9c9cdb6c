import pytest

from tests.monitoring.receiver import start_receiver


@pytest.fixture
def webhook_receiver(settings):
    # The receiver listens on loopback, which production refuses (monitoring/egress.py): tests
    # that deliver to it opt in here, the rest run with the production default (refused).
    settings.HAPPA_WEBHOOK_ALLOW_PRIVATE = True
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
