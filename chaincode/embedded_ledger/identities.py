"""Local identities for the embedded ledger: one certificate authority per MSP.

`LocalCA` issues real X.509 certificates (ECDSA P-256) shaped like Fabric CA's enrollment
certificates: subject `CN=<name>, OU=<type>`, and the user's attributes in extension
1.2.3.4.5.6.7.8.1 as JSON `{"attrs": {...}}`, including the `hf.EnrollmentID`, `hf.Type` and
`hf.Affiliation` attributes Fabric CA adds. Chaincode therefore sees the same creator bytes and
attributes (through `fabric_shim.cid`) as on a real network.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_gateway.signing import sign_low_s
from fabric_protos.msp import identities_pb2

from embedded_ledger.keystore import KeyStore
from embedded_ledger.store import LedgerStore

FABRIC_CA_ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")
_VALIDITY = dt.timedelta(days=365 * 10)


@dataclass(frozen=True)
class Identity:
    """An enrolled identity: what it presents (MSP id + certificate) and how it signs."""

    msp_id: str
    name: str
    certificate_pem: str
    _private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())

    def serialized(self) -> bytes:
        """The creator bytes Fabric puts in headers: `msp.SerializedIdentity{mspid, id_bytes=PEM}`."""
        return identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.certificate_pem.encode()
        ).SerializeToString()

    def sign(self, message: bytes) -> bytes:
        """ECDSA-SHA256 over `message`, DER-encoded with low S (peers reject high-S signatures)."""
        return sign_low_s(self._private_key, message)


class LocalCA:
    """A self-signed certificate authority for one MSP, created on first use and then persisted."""

    def __init__(self, msp_id: str, store: LedgerStore, keys: KeyStore) -> None:
        self.msp_id = msp_id
        owner = f"{msp_id}/ca"
        certificate_pem = store.get_ca_certificate(msp_id)
        key_pem = keys.load(owner)
        if certificate_pem is not None and key_pem is None:
            raise KeyError(f"the CA key of {msp_id} is missing from the keystore; it cannot issue identities")
        if key_pem is None:
            self._key = ec.generate_private_key(ec.SECP256R1())
            keys.save(owner, _private_pem(self._key))
        else:
            loaded = serialization.load_pem_private_key(key_pem, password=None)
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)
            self._key = loaded
        if certificate_pem is None:
            # Also reached when a crash came between saving the key and storing the certificate.
            self.certificate = self._self_signed()
            pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
            store.put_ca_certificate(msp_id, pem)
        else:
            self.certificate = x509.load_pem_x509_certificate(certificate_pem.encode())

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def _self_signed(self) -> x509.Certificate:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.msp_id),
                x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{self.msp_id.lower()}"),
            ]
        )
        public_key = self._key.public_key()
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    def issue(
        self, name: str, public_key: ec.EllipticCurvePublicKey, role: str, attributes: Mapping[str, str]
    ) -> x509.Certificate:
        """An enrollment certificate for `name` carrying `attributes`."""
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        attrs_json = json.dumps({"attrs": dict(attributes)}, separators=(",", ":"), sort_keys=True)
        ca_public_key = self._key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key), critical=False)
            .add_extension(
                x509.UnrecognizedExtension(FABRIC_CA_ATTRIBUTES_OID, attrs_json.encode()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )


class IdentityRegistry:
    """`ledger.identities`: enroll local identities and look them up by name."""

    def __init__(self, store: LedgerStore, keys: KeyStore) -> None:
        self._store = store
        self._keys = keys
        self._cas: dict[str, LocalCA] = {}

    def certificate_authority(self, msp_id: str) -> LocalCA:
        if msp_id not in self._cas:
            self._cas[msp_id] = LocalCA(msp_id, self._store, self._keys)
        return self._cas[msp_id]

    def enroll(
        self, name: str, msp_id: str, attributes: Mapping[str, str] | None = None, *, role: str = "client"
    ) -> Identity:
        """Issue a certificate for a new identity; enrolling the same name again with the same MSP,
        role and attributes returns the existing identity, anything else raises `ValueError`."""
        if not name or not msp_id:
            raise ValueError("an identity needs a name and an MSP id")
        all_attributes = {
            "hf.EnrollmentID": name,
            "hf.Type": role,
            "hf.Affiliation": "",
            **(attributes or {}),
        }
        existing = self._store.get_identity_row(name)
        if existing is not None:
            if existing[0] != msp_id or existing[1] != role or json.loads(existing[3]) != all_attributes:
                raise ValueError(
                    f"identity {name!r} is already enrolled with another MSP, role or attributes"
                )
            return self.get(name)
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = self.certificate_authority(msp_id).issue(name, key.public_key(), role, all_attributes)
        certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        self._keys.save(f"{msp_id}/{name}", _private_pem(key))
        self._store.put_identity_row(
            name, msp_id, role, certificate_pem, json.dumps(all_attributes, sort_keys=True)
        )
        return Identity(msp_id, name, certificate_pem, key)

    def get(self, name: str) -> Identity:
        """The enrolled identity called `name`; `KeyError` when there is none."""
        row = self._store.get_identity_row(name)
        if row is None:
            raise KeyError(f"no identity named {name!r} is enrolled")
        msp_id, _role, certificate_pem, _attributes = row
        key_pem = self._keys.load(f"{msp_id}/{name}")
        if key_pem is None:
            raise KeyError(f"the private key of identity {name!r} is missing")
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return Identity(msp_id, name, certificate_pem, key)

    def names(self) -> list[str]:
        return self._store.identity_names()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._store.get_identity_row(name) is not None


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
