"""Client identity: Go-identical IDs (checked against a real Go program), MSP ID, CA attributes.

Go's `cid.GetID()` formats `pkix.Name.ToRDNSequence()` (fabric-chaincode-go pkg/cid/cid.go getDN),
not `pkix.Name.String()`: the two differ for attributes without a named pkix.Name field.
"""

from __future__ import annotations

import base64
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2
from fabric_shim.cid import ClientIdentity, _go_escape, _parse_creator
from fabric_shim.errors import AttributeMismatchError, IdentityError
from hypothesis import given
from hypothesis import strategies as st
from shim_pki import Issued, common_name, issue, make_ca

A = x509.NameAttribute
UID = x509.ObjectIdentifier("0.9.2342.19200300.100.1.1")

GO_PROGRAM = """
package main

import (
\t"crypto/x509"
\t"encoding/pem"
\t"fmt"
\t"os"
)

func main() {
\tfor _, path := range os.Args[1:] {
\t\tdata, err := os.ReadFile(path)
\t\tif err != nil {
\t\t\tpanic(err)
\t\t}
\t\tblock, _ := pem.Decode(data)
\t\tcert, err := x509.ParseCertificate(block.Bytes)
\t\tif err != nil {
\t\t\tpanic(err)
\t\t}
\t\t// cid.GetID's getDN prints ToRDNSequence() exactly like RDNSequence.String() does.
\t\tsubject := cert.Subject.ToRDNSequence().String()
\t\tissuer := cert.Issuer.ToRDNSequence().String()
\t\tfmt.Printf("%x\\n", "x509::"+subject+"::"+issuer)
\t}
}
"""


def creator(issued: Issued, msp_id: str = "Org1MSP") -> bytes:
    return identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=issued.cert_pem).SerializeToString()


def tricky_subjects() -> list[x509.Name]:
    fabric_ca_style = x509.Name(
        [
            x509.RelativeDistinguishedName([A(NameOID.COUNTRY_NAME, "US")]),
            x509.RelativeDistinguishedName([A(NameOID.STATE_OR_PROVINCE_NAME, "North Carolina")]),
            x509.RelativeDistinguishedName([A(NameOID.ORGANIZATION_NAME, "Hyperledger")]),
            x509.RelativeDistinguishedName(
                [A(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"), A(NameOID.ORGANIZATIONAL_UNIT_NAME, "org1")]
            ),
            x509.RelativeDistinguishedName([A(NameOID.ORGANIZATIONAL_UNIT_NAME, "department1")]),
            x509.RelativeDistinguishedName([A(NameOID.COMMON_NAME, "user1")]),
        ]
    )
    escaping = x509.Name(
        [
            A(NameOID.COMMON_NAME, ' lead,ing+"q"<a>;b\\c #x = trailing '),
            A(NameOID.ORGANIZATION_NAME, "#hash first"),
            A(NameOID.ORGANIZATIONAL_UNIT_NAME, "서초 주민 "),
            A(NameOID.LOCALITY_NAME, "Ünïcode, Straße"),
        ]
    )
    unusual = x509.Name(
        [
            A(NameOID.DOMAIN_COMPONENT, "example"),
            A(NameOID.EMAIL_ADDRESS, "alice@example.com"),
            A(UID, "alice"),
            A(NameOID.TITLE, "Mayor"),
            A(NameOID.TITLE, "한글 title"),
            A(NameOID.SERIAL_NUMBER, "12345"),
            A(NameOID.STREET_ADDRESS, "1 Main St"),
            A(NameOID.POSTAL_CODE, "06750"),
            A(NameOID.COMMON_NAME, "first"),
            A(NameOID.COMMON_NAME, "last wins"),
            A(NameOID.ORGANIZATION_NAME, "b-org"),
            A(NameOID.ORGANIZATION_NAME, "a-org"),
            A(NameOID.COUNTRY_NAME, "KR"),
        ]
    )
    multivalued = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [A(NameOID.COMMON_NAME, "cn"), A(UID, "u1"), A(NameOID.ORGANIZATION_NAME, "o")]
            ),
            x509.RelativeDistinguishedName([A(NameOID.PSEUDONYM, "p*&")]),
        ]
    )
    rng = random.Random(2024)
    alphabet = "ab Z9,+\"\\<>;#=*&'()-./:?@_\t한é"
    oids = [NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.LOCALITY_NAME, UID, NameOID.TITLE]
    randomised = [
        x509.Name(
            [
                A(rng.choice(oids), "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
                for _ in range(rng.randint(1, 5))
            ]
        )
        for _ in range(25)
    ]
    return [fabric_ca_style, escaping, unusual, multivalued, *randomised]


@pytest.fixture(scope="module")
def identities() -> list[Issued]:
    ca = make_ca(
        subject=x509.Name(
            [
                A(NameOID.COUNTRY_NAME, "KR"),
                A(NameOID.ORGANIZATION_NAME, "Seocho, Gu"),
                A(NameOID.COMMON_NAME, "ca.seocho"),
            ]
        )
    )
    return [issue(ca, subject, client=True) for subject in tricky_subjects()]


def test_id_matches_go(identities: list[Issued], tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("the go toolchain is not installed, so Go's pkix.Name.String() cannot be compared")
    program = tmp_path / "main.go"
    program.write_text(GO_PROGRAM)
    paths = []
    for index, issued in enumerate(identities):
        path = tmp_path / f"cert{index}.pem"
        path.write_bytes(issued.cert_pem)
        paths.append(str(path))
    result = subprocess.run(
        [go, "run", str(program), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=True,
    )
    expected = [bytes.fromhex(line).decode("utf-8") for line in result.stdout.splitlines()]
    assert len(expected) == len(identities)
    for issued, go_id in zip(identities, expected, strict=True):
        ours = base64.b64decode(ClientIdentity(creator(issued)).id).decode("utf-8")
        assert ours == go_id


def test_known_fabric_id() -> None:
    ca = make_ca(subject=x509.Name([A(NameOID.COMMON_NAME, "ca.org1.example.com")]))
    user = issue(
        ca,
        x509.Name(
            [A(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"), A(NameOID.COMMON_NAME, "User1@org1.example.com")]
        ),
    )
    identity = ClientIdentity(creator(user))
    expected = "x509::CN=User1@org1.example.com,OU=client::CN=ca.org1.example.com"
    assert base64.b64decode(identity.id).decode() == expected
    assert identity.msp_id == "Org1MSP"
    assert identity.certificate == user.certificate


def test_id_leaves_out_attributes_go_does_not_name() -> None:
    # emailAddress, UID and DC are kept by pkix.Name.String() but not by ToRDNSequence(), which
    # is what cid.GetID() formats; the ID must not depend on them.
    ca = make_ca(subject=x509.Name([A(NameOID.COMMON_NAME, "ca")]))
    user = issue(
        ca,
        x509.Name(
            [
                A(NameOID.DOMAIN_COMPONENT, "example"),
                A(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"),
                A(NameOID.EMAIL_ADDRESS, "user1@example.com"),
                A(UID, "u1"),
                A(NameOID.COMMON_NAME, "user1"),
            ]
        ),
    )
    assert base64.b64decode(ClientIdentity(creator(user)).id).decode() == "x509::CN=user1,OU=client::CN=ca"


def test_fabric_ca_attributes() -> None:
    ca = make_ca()
    user = issue(ca, common_name("minter"), attributes={"role": "minter", "hf.EnrollmentID": "minter"})
    identity = ClientIdentity(creator(user))
    assert identity.attributes == {"role": "minter", "hf.EnrollmentID": "minter"}
    assert identity.get_attribute("role") == "minter"
    assert identity.get_attribute("missing") is None
    identity.assert_attribute_value("role", "minter")
    with pytest.raises(AttributeMismatchError, match="'minter'"):
        identity.assert_attribute_value("role", "admin")
    with pytest.raises(AttributeMismatchError, match="not present"):
        identity.assert_attribute_value("missing", "x")
    assert ClientIdentity(creator(issue(ca, common_name("plain")))).attributes == {}


@pytest.mark.parametrize(
    "serialized",
    [
        b"",
        b"\xff\xff\xff",
        identities_pb2.SerializedIdentity(mspid="Org1MSP", id_bytes=b"not a pem").SerializeToString(),
        identities_pb2.SerializedIdentity(mspid="Org1MSP").SerializeToString(),
    ],
)
def test_bad_creators_raise_identity_error(serialized: bytes) -> None:
    for _attempt in range(2):  # a refusal is not remembered as anything else
        with pytest.raises(IdentityError):
            ClientIdentity(serialized)


def test_identities_parsed_from_one_creator_are_equal_and_apart() -> None:
    """Parsing is cached by the creator's bytes; each identity still has its own attribute dict."""
    ca = make_ca()
    serialized = creator(issue(ca, common_name("cached"), attributes={"role": "staff"}))
    hits = _parse_creator.cache_info().hits
    first, second = ClientIdentity(serialized), ClientIdentity(bytearray(serialized))
    assert _parse_creator.cache_info().hits == hits + 1  # the second parse came from the cache
    assert (first.id, first.msp_id, first.attributes) == (second.id, second.msp_id, second.attributes)
    first.attributes["role"] = "admin"
    assert second.get_attribute("role") == "staff"
    assert ClientIdentity(serialized).get_attribute("role") == "staff"
    other = ClientIdentity(creator(issue(ca, common_name("other"))))
    assert other.id != first.id and other.attributes == {}


def _rfc4514_unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            i += 1
        out.append(value[i])
        i += 1
    return "".join(out)


@given(st.text(min_size=1))
def test_escaping_is_reversible_and_protects_separators(value: str) -> None:
    escaped = _go_escape(value)
    assert _rfc4514_unescape(escaped) == value
    unescaped_separators = escaped.replace("\\\\", "").replace("\\,", "").replace("\\+", "")
    assert "," not in unescaped_separators and "+" not in unescaped_separators
