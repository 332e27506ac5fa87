"""A CA's operations endpoint certificate in `renew`'s plan: the server reads it when it starts, so it is the
CA's to renew and restart for, not an identity's without a process (whose files are read when used)."""

from __future__ import annotations

from seocho_network.context import NetworkContext
from seocho_network.renewal import plan_renewal
from test_renewal_plan import NOW, WINDOW, _write, home  # noqa: F401  # `home` is the fixture


def test_a_due_operations_certificate_restarts_its_ca(home: NetworkContext) -> None:  # noqa: F811
    layout = home.layout
    district, partners = home.topology.organizations
    for ca in (district.ca, partners.ca, partners.tls_ca):
        _write(layout.ca_operations(ca).tls_cert, 400)
    _write(layout.ca_operations(district.ca).tls_cert, 3)
    _write(layout.ca_operations(partners.tls_ca).tls_cert, 5)
    _write(layout.ca_server_home(partners.tls_ca) / "tls-cert.pem", 6)

    plan = plan_renewal(home, WINDOW, NOW)

    assert plan.cas == [district.ca, partners.tls_ca]
    assert plan.ca_operations == [district.ca, partners.tls_ca] and plan.ca_tls == [partners.tls_ca]
    assert not plan.identities and not plan.restart_only
    said = "\n".join(plan.lines(NOW))
    assert f"CA {district.ca.node_id}: its operations endpoint's certificate, then a restart" in said
    assert f"CA {partners.tls_ca.node_id}: its TLS certificate and its operations endpoint's" in said


def test_operations_certificates_not_due_plan_nothing(home: NetworkContext) -> None:  # noqa: F811
    for ca in home.topology.cas:
        _write(home.layout.ca_operations(ca).tls_cert, 400)
    assert plan_renewal(home, WINDOW, NOW).empty
