import pytest

from tests.monitoring.receiver import start_receiver


@pytest.fixture
def webhook_receiver():
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
