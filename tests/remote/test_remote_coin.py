"""The coin contract served by the real `seocho-chaincode` process, peered by the embedded ledger.

Everything travels over `protos.Chaincode/Connect` with mutual TLS: the handshake, every state
request, the responses and the chaincode events carried in COMPLETED.
"""

from __future__ import annotations

import pytest
from chaincode_process import PACKAGE_ID, ChaincodeProcess, client_tls
from coin_network import EVIDENCE, CallFailed, CoinNetwork
from embedded_ledger import EndorsementError
from embedded_ledger.remote import ChaincodeConnectionError, RemoteChaincode, RemoteTLS
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from remote_pki import ChaincodePKI


def test_earn_pay_and_audit_over_the_wire(net: CoinNetwork) -> None:
    earned = net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "r1")
    assert (earned["coins"], earned["krw"]) == (6, 1200)
    name, event = net.last_event()
    assert name == "earn" and event == earned and event["member_id"] == "M-001"
    record = list(net.ledger.chaincode_events("seocho"))[-1]
    assert net.ledger.transaction_status(record.tx_id) is not None  # the event belongs to a committed tx

    paid = net.submit("m1", "pay", "M-001", "cc-01", 1000, 4, "gym", "p1")
    assert paid["cash_krw"] == 200
    name, event = net.last_event()
    assert name == "pay" and (event["coins"], event["cash_krw"]) == (4, 200)

    assert net.query("m1", "get_balance", "M-001")["coins"] == 2
    assert net.query("m2", "get_balance", "M-002")["coins"] == 0
    audit = net.query("auditor", "audit_supply")
    assert audit["ok"], audit


def test_two_payments_by_one_member_in_one_block_conflict(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "r1")
    first = net.endorse("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "a")
    second = net.endorse("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "b")
    block = net.ledger.commit([first, second])
    assert block.validation_codes == [TxValidationCode.VALID, TxValidationCode.MVCC_READ_CONFLICT]
    assert net.query("m1", "get_balance", "M-001")["coins"] == 5  # only the first payment applied
    assert net.query("auditor", "audit_supply")["ok"]


def test_a_refused_transaction_writes_nothing(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "r1")
    height, events = net.ledger.height, net.event_count()
    with pytest.raises(CallFailed) as refused:
        net.submit("m2", "pay", "M-001", "cc-01", 1000, 1, "gym", "theft")  # not m2's account
    assert refused.value.status == 403
    with pytest.raises(EndorsementError) as unauthorised:  # no staff role at any institution
        net.ledger.submit(
            net.people["unknown"], "seocho", "earn", ["M-001", "volunteer_hour", "5", EVIDENCE, "x"]
        )
    assert unauthorised.value.response.status == 403
    assert (net.ledger.height, net.event_count()) == (height, events)
    assert net.query("m1", "get_balance", "M-001")["coins"] == 3


@pytest.mark.parametrize("client", ["no certificate", "certificate from another CA"])
def test_a_client_without_a_certificate_from_the_ca_is_refused(
    chaincode_server: ChaincodeProcess, pki: ChaincodePKI, client: str
) -> None:
    root = pki.ca_cert_file.read_bytes()
    if client == "no certificate":
        tls = RemoteTLS(root_cert=root)
    else:
        tls = RemoteTLS(root, pki.stranger.key_file.read_bytes(), pki.stranger.cert_file.read_bytes())
    with RemoteChaincode(chaincode_server.address, PACKAGE_ID, tls=tls, dial_timeout=3.0) as stranger:
        with pytest.raises(ChaincodeConnectionError, match=r"cannot connect \((mutual )?TLS\): UNAVAILABLE"):
            stranger.connect()
        assert not stranger.connected


def test_a_server_registered_under_another_package_id_is_refused(
    chaincode_server: ChaincodeProcess, pki: ChaincodePKI
) -> None:
    expected = r"registered chaincode 'seocho_1\.0:0f.*', expected package ID 'other_1\.0:beef'"
    wrong = RemoteChaincode(chaincode_server.address, "other_1.0:beef", tls=client_tls(pki))
    with wrong, pytest.raises(ChaincodeConnectionError, match=expected):
        wrong.connect()


def test_killed_chaincode_fails_the_next_transaction_and_a_restart_recovers(
    net: CoinNetwork, chaincode_server: ChaincodeProcess, remote: RemoteChaincode
) -> None:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "before")
    assert chaincode_server.terminate() == 0  # SIGTERM: a clean shutdown

    with pytest.raises(CallFailed) as failed:
        net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "while-down")
    assert failed.value.status == 500
    assert f"chaincode {PACKAGE_ID} at {chaincode_server.address}" in failed.value.message
    assert "cannot connect" in failed.value.message
    assert not remote.connected

    chaincode_server.start()
    assert net.query("m1", "get_balance", "M-001")["coins"] == 6  # the state survived on the ledger
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "after")
    assert net.query("m1", "get_balance", "M-001")["coins"] == 9
    assert net.query("auditor", "audit_supply")["ok"]
