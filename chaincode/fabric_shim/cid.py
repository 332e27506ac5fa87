"""Client identity of a transaction's creator, as Go's `pkg/cid` exposes it.

The creator is a serialized `msp.SerializedIdentity{mspid, id_bytes = PEM certificate}`. `id` is
byte-identical to Go's `cid.GetID()`: base64 of ``"x509::" + subject + "::" + issuer`` where both
names are rendered the way cid's `getDN` renders a *parsed* certificate name: from
`pkix.Name.ToRDNSequence()`, which keeps only the attributes Go parses into named fields (see
`go_cid_dn`). Fabric CA attributes come from certificate extension 1.2.3.4.5.6.7.8.1,
whose value is the JSON document ``{"attrs": {...}}``.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier
from fabric_protos.msp import identities_pb2

from fabric_shim.errors import AttributeMismatchError, IdentityError

if TYPE_CHECKING:
    from fabric_shim.stub import ChaincodeStub

logger = logging.getLogger(__name__)

FABRIC_CA_ATTRIBUTES_OID = ObjectIdentifier("1.2.3.4.5.6.7.8.1")

# Go's attributeTypeNames: the attribute types Go parses into named pkix.Name fields.
_GO_TYPE_NAMES = {
    "2.5.4.6": "C",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.3": "CN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.17": "POSTALCODE",
}
# The order in which Go's Name.ToRDNSequence re-emits the attributes it parsed into named fields.
# Multi-valued fields become one multi-valued RDN; CN and SERIALNUMBER keep only their last value.
_GO_NAMED_FIELD_ORDER = ("2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11")
_GO_SINGLE_VALUED = ("2.5.4.3", "2.5.4.5")


IDENTITY_CACHE_SIZE = 1024
"""Creators remembered by `ClientIdentity` (a district's staff and busiest members fit many times)."""


@dataclass(frozen=True)
class _ParsedCreator:
    msp_id: str
    certificate: x509.Certificate
    attributes: Mapping[str, str]
    id: str


@functools.lru_cache(maxsize=IDENTITY_CACHE_SIZE)
def _parse_creator(serialized_creator: bytes) -> _ParsedCreator:
    """Everything `ClientIdentity` reads from a creator: a pure function of its bytes, so a cache.

    Parsing the PEM certificate, its names and its attribute extension was a quarter of a coin
    movement's Python time, and the same few creators sign most transactions. A refusal raises and
    is not cached, so a bad creator is refused the same way every time.
    """
    try:
        identity = identities_pb2.SerializedIdentity.FromString(serialized_creator)
    except Exception:  # protobuf's DecodeError
        raise IdentityError("the creator is not a serialized MSP identity") from None
    if not identity.id_bytes:
        raise IdentityError("the creator carries no certificate")
    try:
        certificate = x509.load_pem_x509_certificate(identity.id_bytes)
    except ValueError:
        raise IdentityError("the creator's identity is not a PEM-encoded X.509 certificate") from None
    attributes = MappingProxyType(_fabric_ca_attributes(certificate))
    subject = go_cid_dn(certificate.subject)
    issuer = go_cid_dn(certificate.issuer)
    client_id = base64.b64encode(f"x509::{subject}::{issuer}".encode()).decode("ascii")
    return _ParsedCreator(identity.mspid, certificate, attributes, client_id)


class ClientIdentity:
    """The X.509 identity that created the transaction."""

    def __init__(self, serialized_creator: bytes) -> None:
        try:
            creator = bytes(serialized_creator)  # hashable, for the cache
        except TypeError:
            raise IdentityError("the creator is not a serialized MSP identity") from None
        parsed = _parse_creator(creator)
        self.msp_id: str = parsed.msp_id
        self.certificate: x509.Certificate = parsed.certificate
        self.attributes: dict[str, str] = dict(parsed.attributes)  # the caller's own copy
        self._id = parsed.id

    @classmethod
    def from_stub(cls, stub: ChaincodeStub) -> ClientIdentity:
        """The identity of the stub's transaction creator."""
        return cls(stub.creator)

    @property
    def id(self) -> str:
        """Go's `cid.GetID()`: base64("x509::" + subject + "::" + issuer)."""
        return self._id

    def get_attribute(self, name: str) -> str | None:
        """The Fabric CA attribute `name`, or None when the certificate does not carry it."""
        return self.attributes.get(name)

    def assert_attribute_value(self, name: str, value: str) -> None:
        """Raise `AttributeMismatchError` unless attribute `name` equals `value`."""
        actual = self.get_attribute(name)
        if actual != value:
            raise AttributeMismatchError(name, value, actual)


def _fabric_ca_attributes(certificate: x509.Certificate) -> dict[str, str]:
    try:
        extension = certificate.extensions.get_extension_for_oid(FABRIC_CA_ATTRIBUTES_OID)
    except x509.ExtensionNotFound:
        return {}
    raw = extension.value
    if not isinstance(raw, x509.UnrecognizedExtension):
        return {}
    try:
        document = json.loads(raw.value)
        attributes = document["attrs"]
    except (ValueError, KeyError, TypeError):
        raise IdentityError("the Fabric CA attribute extension is not valid JSON with 'attrs'") from None
    if not isinstance(attributes, dict):
        raise IdentityError("the Fabric CA attribute extension's 'attrs' is not an object")
    # Fabric CA writes string values only; Go would refuse anything else, we keep it as JSON text.
    return {
        str(key): value if isinstance(value, str) else json.dumps(value) for key, value in attributes.items()
    }


def go_cid_dn(name: x509.Name) -> str:
    """Render `name` exactly as Go's `cid.GetID()` does for a parsed certificate name.

    cid formats `pkix.Name.ToRDNSequence()`. After parsing, Go keeps C, ST, L, STREET, POSTALCODE,
    O, OU (all values of a field in one multi-valued RDN, in that order) and CN and SERIALNUMBER
    (last value wins, omitted when empty); every other attribute (emailAddress, UID, DC, title...)
    is not in that sequence, so it is not part of the ID. The sequence is printed in reverse.
    """
    flattened = [(attribute.oid.dotted_string, attribute.value) for rdn in name.rdns for attribute in rdn]
    rdns: list[list[tuple[str, str | bytes]]] = []
    for field in _GO_NAMED_FIELD_ORDER:
        values = [value for oid, value in flattened if oid == field]
        if values:
            rdns.append([(field, value) for value in values])
    for field in _GO_SINGLE_VALUED:
        values = [value for oid, value in flattened if oid == field]
        if values and values[-1]:
            rdns.append([(field, values[-1])])
    rendered = ("+".join(_go_attribute_string(oid, value) for oid, value in rdn) for rdn in reversed(rdns))
    return ",".join(rendered)


def _go_attribute_string(oid: str, value: str | bytes) -> str:
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return f"{_GO_TYPE_NAMES[oid]}={_go_escape(text)}"


def _go_escape(value: str) -> str:
    byte_length = len(value.encode("utf-8"))
    escaped: list[str] = []
    offset = 0  # Go compares the *byte* offset of each rune with the byte length
    for char in value:
        if char in ',+"\\<>;':
            escape = True
        elif char == " ":
            escape = offset == 0 or offset == byte_length - 1
        elif char == "#":
            escape = offset == 0
        else:
            escape = False
        escaped.append("\\" + char if escape else char)
        offset += len(char.encode("utf-8"))
    return "".join(escaped)
