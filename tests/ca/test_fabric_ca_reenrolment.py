"""What certificate renewal relies on, against a real fabric-ca-server: an identity registered for one
enrolment (as the network registers every node and admin) renews as often as it needs through
`reenroll`, keeps its names and attributes, while its enrolment secret enrols no one again."""

from __future__ import annotations

import uuid

import pytest
from fabric_ca import CAClient, CAError, Enrollment, RegistrationRequest
from seocho_network.reenrolment import certificate_hosts


def test_an_identity_enrolled_once_reenrols_again_and_again(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = f"node-{uuid.uuid4().hex[:8]}"
    secret = ca_client.register(bootstrap_admin, RegistrationRequest(name, "peer", max_enrollments=1))
    hosts = [name, "127.0.0.1", "localhost"]
    current = ca_client.enroll(name, secret, csr_hosts=hosts, profile="tls")
    serials = {current.serial_hex}
    for _ in range(3):
        current = ca_client.reenroll(current, csr_hosts=certificate_hosts(current.certificate), profile="tls")
        serials.add(current.serial_hex)
        assert current.enrollment_id == name
        assert sorted(certificate_hosts(current.certificate)) == sorted(hosts)
    assert len(serials) == 4
    with pytest.raises(CAError) as refused:  # the one enrolment was used: the secret is spent
        ca_client.enroll(name, secret)
    assert refused.value.status == 401
