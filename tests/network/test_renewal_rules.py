"""The rules of `network.sh renew` that need no network: the window, what is due, the directory swap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st
from seocho_network.configs import set_certificate_lifetime
from seocho_network.reenrolment import recover_directory, replace_directory
from seocho_network.renewal import due_certificates, parse_window
from seocho_network.topology import load_topology

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]),
)
def test_a_window_is_a_whole_number_of_one_unit(amount: int, unit: tuple[str, int]) -> None:
    assert parse_window(f"{amount}{unit[0]}") == timedelta(seconds=amount * unit[1])


@pytest.mark.parametrize("text", ["", "30", "d", "1.5d", "30 days", "-1d", "1w", "1d2h"])
def test_anything_else_is_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(ValueError, match="like 30d"):
        parse_window(text)


def _certificate(path: Path, not_after: datetime, name: str = "peer0") -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(not_after - timedelta(days=400))
        .not_valid_after(not_after).sign(key, hashes.SHA256())
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def test_due_are_the_certificates_expiring_within_the_window_soonest_first(tmp_path: Path) -> None:
    org = tmp_path / "orgs" / "district.example"
    _certificate(org / "nodes" / "peer0.district.example" / "tls" / "server.crt", NOW + timedelta(days=29))
    _certificate(
        org / "nodes" / "peer0.district.example" / "msp" / "signcerts" / "cert.pem", NOW + timedelta(days=31)
    )
    _certificate(org / "users" / "admin" / "msp" / "signcerts" / "cert.pem", NOW - timedelta(hours=1))
    _certificate(org / "fabric-ca" / "ca-cert.pem", NOW + timedelta(days=3))
    _certificate(tmp_path / "users" / "S-0001" / "msp" / "signcerts" / "cert.pem", NOW + timedelta(days=400))
    (org / "users" / "broken" / "tls").mkdir(parents=True)
    (org / "users" / "broken" / "tls" / "server.crt").write_text("not a certificate")

    due = due_certificates(tmp_path, timedelta(days=30), NOW)

    assert [(d.identity, d.kind) for d in due] == [
        ("admin.district.example", "enrollment"),
        ("ca.district.example", "ca"),
        ("peer0.district.example", "tls"),
    ]
    assert "expired" in due[0].describe(NOW) and "expires in 29d" in due[2].describe(NOW)


def test_a_directory_is_replaced_whole_and_an_interrupted_swap_recovers(tmp_path: Path) -> None:
    target = tmp_path / "tls"
    target.mkdir()
    (target / "server.key").write_text("old key")
    (target / "server.crt").write_text("old certificate")
    (target / "ca.crt").write_text("root")

    def write(staging: Path) -> None:
        assert (target / "server.key").read_text() == "old key"  # untouched while the new one is made
        (staging / "server.key").write_text("new key")
        (staging / "server.crt").write_text("new certificate")

    replace_directory(target, write)
    assert {p.name: p.read_text() for p in target.iterdir()} == {
        "server.key": "new key", "server.crt": "new certificate", "ca.crt": "root"
    }  # fmt: skip
    # A crash after the first rename: only the previous directory is there, and it comes back.
    target.replace(tmp_path / "tls.previous")
    recover_directory(target)
    assert (target / "server.key").read_text() == "new key"
    assert not (tmp_path / "tls.previous").exists()

    def fail(staging: Path) -> None:
        (staging / "server.key").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        replace_directory(target, fail)
    assert (target / "server.key").read_text() == "new key"  # a failed renewal leaves the old pair


def test_the_topologys_certificate_lifetime_reaches_every_ca_and_their_config(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "network" / "topology.yaml"
    topology_file = tmp_path / "topology.yaml"
    topology_file.write_text(source.read_text() + "\ncertificates: {lifetime: 10m}\n")
    assert {ca.certificate_lifetime for ca in load_topology(topology_file).cas} == {"10m"}
    assert {ca.certificate_lifetime for ca in load_topology(source).cas} == {None}
    config = tmp_path / "fabric-ca-server-config.yaml"
    default = {"usage": ["digital signature"], "expiry": "8760h"}
    profiles = {"ca": {"expiry": "43800h"}, "tls": {"expiry": "8760h"}}
    config.write_text(yaml.safe_dump({"signing": {"default": default, "profiles": profiles}}))
    set_certificate_lifetime(config, "10m")
    signing = yaml.safe_load(config.read_text())["signing"]
    assert signing["default"] == {"usage": ["digital signature"], "expiry": "10m"}
    assert signing["profiles"] == {"ca": {"expiry": "43800h"}, "tls": {"expiry": "10m"}}
