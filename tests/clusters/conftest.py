import pytest


@pytest.fixture
def missing_node_image(monkeypatch):
    """Release images naming an AMI the sandbox does not have, with moto checking AMIs.

    The sandbox AWS runs in this process (tests.embedded_services), so its AMI validation is
    switched on here for one test: launching an instance from the image then fails the way real
    AWS does (InvalidAMIID.NotFound), a permanent error half-way through provisioning.
    """
    from moto import settings as moto_settings

    monkeypatch.setattr(moto_settings, "ENABLE_AMI_VALIDATION", True)
    return {"eu-central-1": "ami-0000000000000dead"}
