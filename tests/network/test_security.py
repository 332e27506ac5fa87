"""The security boundaries, tried on the real network: who may call, who is refused, what logs never hold."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fabric_gateway as fg
import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_network_support import RunningNetwork, enroll_identity, gateway_as
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from fabric_shim.cid import ClientIdentity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seocho_network.channel_config import current_config, revocation_lists
from seocho_network.revocation import revoke

pytestmark = pytest.mark.fabric


def _self_signed_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca.outsider.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def _issued_by(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, common_name: str
) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _refused(call) -> fg.GatewayError:  # type: ignore[no-untyped-def]
    with pytest.raises(fg.GatewayError) as raised:
        call()
    return raised.value


def test_a_certificate_from_a_ca_outside_the_consortium_is_refused(fabric_network: RunningNetwork) -> None:
    ca_key, ca = _self_signed_ca()
    key, pem = _issued_by(ca_key, ca, "admin")
    # It claims the district's MSP, but no root of the channel signed it.
    impostor = fg.X509Identity("SeochoDistrictMSP", pem)
    with gateway_as(fabric_network, impostor, fg.new_private_key_signer(key)) as contract:
        error = _refused(lambda: contract.evaluate_transaction("get_policy", "0"))
        assert any("access denied" in d.message for d in error.details) or "access denied" in error.message
        error = _refused(lambda: contract.submit_transaction("set_policy", json.dumps({"coin_value_krw": 1})))
        assert "access denied" in str(error) + "".join(d.message for d in error.details)


def test_an_identity_revoked_at_its_ca_is_refused_once_the_channel_has_the_crl(
    fabric_network: RunningNetwork,
) -> None:
    partners = fabric_network.partners
    identity, signer = enroll_identity(fabric_network, partners, "to-be-revoked")
    with gateway_as(fabric_network, identity, signer) as contract:
        assert json.loads(contract.evaluate_transaction("get_policy", "0"))["version"] >= 1
        said = revoke(fabric_network.network, partners.msp_id, "to-be-revoked", "keycompromise")
        assert "now carries the CRL" in said
        error = _refused(lambda: contract.evaluate_transaction("get_policy", "0"))
        assert "access denied" in error.message + "".join(d.message for d in error.details)


def test_a_district_registrar_revoked_is_refused_and_both_district_msp_definitions_carry_the_crl(
    after_demo: RunningNetwork, tmp_path: Path
) -> None:
    district, network = after_demo.district, after_demo.network
    identity, signer = enroll_identity(
        after_demo, district, "registrar-to-revoke", {"seocho.role": "registrar"}
    )
    with gateway_as(after_demo, identity, signer) as contract:
        assert json.loads(contract.evaluate_transaction("get_policy", "0"))["version"] >= 1
        said = revoke(network, district.msp_id, "registrar-to-revoke", "keycompromise")
        assert "(Application and Orderer definitions) now carries the CRL" in said
        error = _refused(lambda: contract.evaluate_transaction("get_policy", "0"))
        assert "access denied" in error.message + "".join(d.message for d in error.details)
    # Through the Partners peer too, and the same CRL is in both of the district's MSP definitions.
    with gateway_as(after_demo, identity, signer, after_demo.partners) as contract:
        error = _refused(lambda: contract.evaluate_transaction("get_policy", "0"))
        assert "access denied" in error.message + "".join(d.message for d in error.details)
    config = current_config(
        network.peer_admin(after_demo.partners.peers[0]), after_demo.topology.channel, tmp_path
    )
    application, orderer = revocation_lists(config, district)
    assert application == orderer and len(application) == 1
    # The ordering service took the update and keeps ordering: the demo's own registrar still commits.
    client_id = str(ClientIdentity(identity.serialize()).id)
    with after_demo.coin("district-registrar") as coin:
        assert coin.register_member("S-7301", ["senior"], client_id)["member_id"] == "S-7301"


def test_a_partners_identity_cannot_act_as_district_admin_or_registrar(after_demo: RunningNetwork) -> None:
    partners = after_demo.partners
    policy_change = json.dumps({"effective_from": "now", "coin_value_krw": 1})
    for role in ("admin", "registrar", "auditor"):
        identity, signer = enroll_identity(after_demo, partners, f"partner-{role}", {"seocho.role": role})
        client_id = str(ClientIdentity(identity.serialize()).id)
        calls = {
            "admin": lambda c: c.submit_transaction("set_policy", policy_change),
            "registrar": lambda c, cid=client_id: c.submit_transaction(
                "register_member", "S-9999", '["senior"]', cid
            ),
            "auditor": lambda c: c.evaluate_transaction("get_report"),
        }
        with gateway_as(after_demo, identity, signer) as contract:
            error = _refused(lambda contract=contract, call=calls[role]: call(contract))
            details = [d.message for d in error.details]
            assert any("chaincode response 403" in d for d in details), (role, details)


def _chaincode_channel(fabric_network: RunningNetwork, cert: Path | None, key: Path | None) -> grpc.Channel:
    server = fabric_network.partners.chaincode_server
    files = fabric_network.network.layout.node(server.node_id)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=files.tls_ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )
    return grpc.secure_channel(server.address, credentials)


def _handshake_succeeds(channel: grpc.Channel) -> bool:
    try:
        grpc.channel_ready_future(channel).result(timeout=3)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


def test_the_chaincode_server_refuses_a_tls_client_that_is_not_its_peer(
    fabric_network: RunningNetwork,
) -> None:
    layout = fabric_network.network.layout
    own = layout.node(f"chaincode-client.{fabric_network.partners.domain}")
    other = layout.node(f"chaincode-client.{fabric_network.district.domain}")
    assert _handshake_succeeds(_chaincode_channel(fabric_network, own.tls_cert, own.tls_key))
    assert not _handshake_succeeds(_chaincode_channel(fabric_network, None, None))
    assert not _handshake_succeeds(_chaincode_channel(fabric_network, other.tls_cert, other.tls_key))


def test_the_peer_refuses_plaintext(fabric_network: RunningNetwork) -> None:
    with grpc.insecure_channel(fabric_network.district.peers[0].address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.Evaluate(gateway_pb2.EvaluateRequest(transaction_id="x", channel_id="seocho"), timeout=5)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


TRANSACTIONS = (
    "init_ledger", "set_policy", "open_earning_to_all", "get_policy", "register_institution",
    "update_institution", "set_annual_quota", "allocate_allowance", "reclaim_allowance", "register_member",
    "rebind_member",
    "set_member_categories", "earn", "pay", "create_payment_request", "pay_request", "donate",
    "request_settlement", "mark_settlement_paid", "expire_coins", "get_balance", "get_member_history",
    "get_report", "audit_supply", "compact_stats",
)  # fmt: skip
_ARGUMENT = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["", "S-0001", "yangjae1-cc", "null", "[]", "{}", '{"a": [1, {"b": null}]}', "\x00", "9" * 5000]
    ),
)


# What a fuzzed call is compared by: the coin's whole world state as its own read functions show it.
_STATE_READS = (
    ("audit_supply",), ("get_report",), ("list_policies",), ("list_institutions",),
    *(("get_balance", member) for member in ("S-0001", "S-0002", "S-0003", "S-0004", "S-0005", "R-0001")),
    *(("get_member_history", member, "100", "") for member in ("S-0001", "S-0004")),
    ("get_institution_statement", "seocho-welfare"), ("get_institution_statement", "yangjae1-cc"),
)  # fmt: skip


def _world_state(contract: fg.Contract) -> list[bytes]:
    return [contract.evaluate_transaction(*read) for read in _STATE_READS]


def _writes(transaction: fg.Transaction) -> list[str]:
    """The keys the endorsed transaction would write, from the read-write set the peers signed."""
    prepared = gateway_pb2.PreparedTransaction.FromString(transaction.bytes())
    payload = common_pb2.Payload.FromString(prepared.envelope.payload)
    keys: list[str] = []
    for action in transaction_pb2.Transaction.FromString(payload.data).actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        response = proposal_response_pb2.ProposalResponsePayload.FromString(
            action_payload.action.proposal_response_payload
        )
        results = proposal_pb2.ChaincodeAction.FromString(response.extension).results
        for namespace in rwset_pb2.TxReadWriteSet.FromString(results).ns_rwset:
            keys += [w.key for w in kv_rwset_pb2.KVRWSet.FromString(namespace.rwset).writes]
    return keys


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(function=st.sampled_from(TRANSACTIONS), args=st.lists(_ARGUMENT, max_size=7))
def test_fuzzed_arguments_through_the_gateway_get_a_4xx_and_change_nothing(
    after_demo: RunningNetwork, function: str, args: list[str]
) -> None:
    with after_demo.contract("district-admin") as contract:
        before = _world_state(contract)
        try:
            transaction = contract.new_proposal(function, *args).endorse()
        except fg.EndorseError as exc:
            statuses = [
                int(m.group(1))
                for d in exc.details
                if (m := re.search(r"chaincode response (\d{3})", d.message))
            ]
            assert statuses and all(400 <= s < 500 for s in statuses), exc
        else:
            writes = _writes(transaction)
            # A fuzzed call the chaincode accepts may only be a read (or a change with nothing to do): it is
            # submitted, must commit VALID, and must leave the world state as it was. One that would write
            # (say, categories "[]" for a demo member) is a real change; it fails here so that a human
            # decides whether the input was valid, rather than changing the session's shared ledger.
            assert not writes, f"{function}{tuple(args)} was accepted as a change writing {writes}"
            status = transaction.submit().status()
            assert status.successful, status.code_name
        assert _world_state(contract) == before


_PRIVATE_KEY = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----)", re.DOTALL
)


def _secrets_on_disk(home: Path) -> list[str]:
    """The base64 bodies of every private key under the network home, and the CAs' bootstrap secrets."""
    found: list[str] = []
    for path in home.rglob("*"):
        if not path.is_file() or path.stat().st_size > 20_000:
            continue
        text = path.read_text(errors="ignore").replace("\\n", "\n")  # keys inside JSON, too
        for pem in _PRIVATE_KEY.findall(text):
            # The key's secret part only: its public half is, rightly, in certificates and logs.
            try:
                key = serialization.load_pem_private_key(pem.encode(), password=None)
            except ValueError:  # e.g. Fabric CA's Idemix revocation key: nothing public in it
                body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
                found.append(body[8:48])
                continue
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            scalar = key.private_numbers().private_value.to_bytes(32, "big")
            der = key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            at = der.index(scalar)
            found += [scalar.hex(), base64.b64encode(der)[at * 4 // 3 + 4 : at * 4 // 3 + 40].decode()]
        if path.name == "bootstrap-secret":
            found.append(text.strip())
    return found


def test_no_key_secret_or_signature_appears_in_any_node_or_chaincode_log(after_demo: RunningNetwork) -> None:
    home = after_demo.network.layout.root
    with after_demo.gateway("district-auditor") as gateway:
        contract = gateway.get_network(after_demo.topology.channel).get_contract("seocho")
        proposal = contract.new_proposal("get_report")
        proposal.evaluate()  # signs it
        signature = gateway_pb2.ProposedTransaction.FromString(proposal.bytes()).proposal.signature
        assert signature
    needles = [*_secrets_on_disk(home), base64.b64encode(signature).decode(), signature.hex()]
    logs = list(home.rglob("*.log"))
    assert len(logs) >= 9  # CAs, orderers, peers, chaincode servers
    for log in logs:
        text = log.read_text(errors="ignore")
        leaked = [n for n in needles if n and n in text]
        assert not leaked, f"{log} holds secret material ({len(leaked)} matches)"
        assert "PRIVATE KEY" not in text, log
