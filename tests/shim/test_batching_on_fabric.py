"""Batched calls against a real peer: v3.1.5 negotiates them, v2.5.16 falls back to single calls.

The session network runs the topology's release (SEOCHO_FABRIC_VERSION=3.1.5 picks v3.1.5). Either way
the read/write set the peer endorses must be the one the embedded ledger records for the same calls,
which answers as a v3.1 peer with batching on and as a v2.5 peer with it off.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fabric_gateway as fg
import pytest
from batching_chaincode import new_chaincode
from embedded_ledger import EmbeddedLedger
from embedded_ledger.rwset_proto import tx_read_write_set
from fabric_network_support import RunningNetwork, deploy_test_chaincode, enroll_client
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from fabric_shim.batching import FABRIC_3_1_DEFAULTS, NO_BATCHING

pytestmark = pytest.mark.fabric
CHAINCODE = "batchcc"
SEEDED = 1200  # more than one batched message carries (1000 on a v3.1 peer)


@pytest.fixture(scope="module")
def batching_contract(fabric_network: RunningNetwork) -> Iterator[fg.Contract]:
    deploy_test_chaincode(
        fabric_network, CHAINCODE, Path(__file__).with_name("batching_chaincode.py"), "new_chaincode", index=5
    )
    client = enroll_client(fabric_network, "batching-tester")
    identity, signer = fg.load_msp_directory(client.msp_id, client.msp_dir)
    with fg.connect(
        client.address,
        identity,
        signer,
        tls_root_certs=client.tls_root,
        server_name_override=client.server_name,
    ) as gateway:
        contract = gateway.get_network(client.channel).get_contract(CHAINCODE)
        contract.submit_transaction("seed", str(SEEDED))
        yield contract


def _kv_rwset(transaction: fg.Transaction) -> kv_rwset_pb2.KVRWSet:
    prepared = gateway_pb2.PreparedTransaction.FromString(transaction.bytes())
    payload = common_pb2.Payload.FromString(prepared.envelope.payload)
    (action,) = transaction_pb2.Transaction.FromString(payload.data).actions
    action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
    response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
        action_payload.action.proposal_response_payload
    )
    results = proposal_pb2.ChaincodeAction.FromString(response_payload.extension).results
    return _namespace(rwset_pb2.TxReadWriteSet.FromString(results))


def _namespace(tx_rwset: rwset_pb2.TxReadWriteSet) -> kv_rwset_pb2.KVRWSet:
    (ns,) = [ns for ns in tx_rwset.ns_rwset if ns.namespace == CHAINCODE]
    return kv_rwset_pb2.KVRWSet.FromString(ns.rwset)


def _comparable(kv: kv_rwset_pb2.KVRWSet) -> dict[str, Any]:
    """The sets without block heights (the two ledgers committed the seed at different heights)."""
    return {
        "reads": sorted((r.key, r.HasField("version")) for r in kv.reads),
        "ranges": [
            (q.start_key, q.end_key, q.itr_exhausted, [r.key for r in q.raw_reads.kv_reads])
            for q in kv.range_queries_info
        ],
        "writes": sorted((w.key, w.is_delete, w.value) for w in kv.writes),
    }


@contextlib.contextmanager
def _embedded(batched: bool) -> Iterator[tuple[EmbeddedLedger, Any]]:
    with EmbeddedLedger.open(None) as ledger:
        ledger.features = FABRIC_3_1_DEFAULTS if batched else NO_BATCHING
        ledger.install(CHAINCODE, new_chaincode())
        alice = ledger.identities.enroll("alice", "Org1MSP")
        ledger.submit(alice, CHAINCODE, "seed", [str(SEEDED)])
        yield ledger, alice


def _embedded_sets(function: str, args: list[str], batched: bool) -> tuple[Any, dict[str, Any]]:
    with _embedded(batched) as (ledger, alice):
        endorsed = ledger.endorse(alice, CHAINCODE, function, args)
        return json.loads(endorsed.response.payload), _comparable(
            _namespace(tx_read_write_set(endorsed.rwset))
        )


def test_the_peer_offers_batching_only_from_v3_1(batching_contract: fg.Contract, fabric_network) -> None:
    offered = json.loads(batching_contract.evaluate_transaction("features"))
    if fabric_network.topology.fabric_major >= 3:
        assert offered == {
            "write_batch": True,
            "max_write_batch": 1000,
            "get_multiple_keys": True,
            "max_get_multiple_keys": 1000,
        }
    else:
        assert offered["write_batch"] is False
        assert offered["get_multiple_keys"] is False


@pytest.mark.parametrize(
    ("function", "args"), [("mixed", []), ("write_then_page", []), ("wide", [str(SEEDED)])]
)
def test_the_peer_endorses_the_read_write_set_of_the_embedded_ledger(
    batching_contract: fg.Contract, fabric_network, function: str, args: list[str]
) -> None:
    transaction = batching_contract.new_proposal(function, *args).endorse()
    on_peer = (json.loads(transaction.result), _comparable(_kv_rwset(transaction)))
    batched = fabric_network.topology.fabric_major >= 3
    assert on_peer == _embedded_sets(function, args, batched)
    assert on_peer == _embedded_sets(function, args, not batched)  # batching changes no set
    if function == "write_then_page":
        assert on_peer[0] == "refused: True"
    if function == "wide":
        assert on_peer[0] == SEEDED
        assert len(on_peer[1]["writes"]) == SEEDED
