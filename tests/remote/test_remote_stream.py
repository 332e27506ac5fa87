"""`RemoteChaincode` against our own in-process chaincode server (plaintext, port 0): interleaved
transactions on one stream, timeouts, a stream lost with transactions pending, ERROR replies,
KEEPALIVE, and the ledger installing a remote chaincode like a local one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from embedded_ledger import EmbeddedLedger, TxSimulator
from embedded_ledger.remote import RemoteChaincode
from embedded_ledger.store import LedgerStore
from fabric_protos.peer import chaincode_pb2
from fabric_shim.calls import PeerError
from fabric_shim.chaincode import Response, error, success
from fabric_shim.config import ServerConfig
from fabric_shim.server import ChaincodeServer
from fabric_shim.stub import ChaincodeStub

CHAINCODE_ID = "probe_1.0:" + "ab" * 32
CHANNEL = "ch"


class ProbeChaincode:
    """A small chaincode whose transactions can be held at a barrier or a gate from the test."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=5)
        self.gate = threading.Event()
        self.holding = threading.Event()

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        fn, params = stub.get_function_and_parameters()
        if fn == "put":
            stub.put_state(params[0], params[1].encode())
            stub.set_event("put", params[0].encode())
            return success(b"stored")
        if fn == "get":
            return success(stub.get_state(params[0]) or b"")
        if fn == "meet":  # read, wait until the other transaction has read too, then write
            stub.get_state(params[0])
            self.barrier.wait()
            stub.put_state(params[0], b"met")
            return success(params[0].encode())
        if fn == "hold":
            self.holding.set()
            self.gate.wait(10)
            return success(b"released")
        if fn == "rich":
            try:
                list(stub.get_query_result('{"selector": {}}'))
            except PeerError as exc:
                return error(f"peer said: {exc}", 501)
        return error(f"unknown function {fn}", 404)


@pytest.fixture
def probe() -> ProbeChaincode:
    return ProbeChaincode()


@pytest.fixture
def server(probe: ProbeChaincode) -> Iterator[ChaincodeServer]:
    with ChaincodeServer(probe, ServerConfig("127.0.0.1:0", CHAINCODE_ID)) as running:
        yield running


def remote_for(server: ChaincodeServer, **options: float) -> RemoteChaincode:
    return RemoteChaincode(f"127.0.0.1:{server.port}", CHAINCODE_ID, **options)  # type: ignore[arg-type]


@pytest.fixture
def store() -> Iterator[LedgerStore]:
    database = LedgerStore(None)
    yield database
    database.close()


def run(remote: RemoteChaincode, store: LedgerStore, tx_id: str, *args: str) -> tuple[Response, TxSimulator]:
    simulator = TxSimulator(store, CHANNEL, tx_id, "probe")
    chaincode_input = chaincode_pb2.ChaincodeInput(args=[a.encode() for a in args])
    response, _ = remote.execute(simulator, CHANNEL, tx_id, chaincode_input, None)
    simulator.finish()
    return response, simulator


def test_transactions_interleave_on_one_stream(server: ChaincodeServer, store: LedgerStore) -> None:
    with remote_for(server) as remote, ThreadPoolExecutor(2) as pool:
        # Each transaction waits at the barrier for the other: both must be in flight at once.
        futures = [pool.submit(run, remote, store, f"tx{n}", "meet", f"k{n}") for n in range(2)]
        results = [future.result(timeout=10) for future in futures]
    for n, (response, simulator) in enumerate(results):
        assert response == Response(200, "", f"k{n}".encode())
        assert {key.key: write.value for key, write in simulator.rwset.writes.items()} == {f"k{n}": b"met"}


def test_a_timeout_fails_only_that_transaction(
    server: ChaincodeServer, store: LedgerStore, probe: ProbeChaincode
) -> None:
    with remote_for(server, call_timeout=0.3) as remote:
        response, _ = run(remote, store, "slow", "hold")
        assert (
            response.status == 500 and "timeout expired while executing transaction slow" in response.message
        )
        probe.gate.set()  # the late COMPLETED is ignored; the stream stays usable
        assert run(remote, store, "next", "put", "k", "v")[0].payload == b"stored"
        assert remote.connected


def test_a_lost_stream_fails_pending_transactions_and_the_next_one_reconnects(
    probe: ProbeChaincode, store: LedgerStore
) -> None:
    first = ChaincodeServer(probe, ServerConfig("127.0.0.1:0", CHAINCODE_ID))
    first.start()
    port = first.port
    with remote_for(first) as remote, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(run, remote, store, "pending", "hold")
        assert probe.holding.wait(5)  # the transaction is running in the chaincode
        first.stop(grace=0)
        response, _ = pending.result(timeout=10)
        assert response.status == 500
        assert f"chaincode {CHAINCODE_ID} at 127.0.0.1:{port}: the connection was lost" in response.message
        probe.gate.set()
        with ChaincodeServer(probe, ServerConfig(f"127.0.0.1:{port}", CHAINCODE_ID)):
            assert run(remote, store, "after", "put", "k", "v")[0].payload == b"stored"
            remote.close()  # before the server stops, which would otherwise wait out its grace period


def test_a_peer_error_reaches_the_chaincode_as_error(server: ChaincodeServer, store: LedgerStore) -> None:
    with remote_for(server) as remote:
        response, _ = run(remote, store, "t1", "rich")
    assert response.status == 501 and "GET_QUERY_RESULT failed: rich queries need CouchDB" in response.message


def test_keepalives_do_not_disturb_transactions(server: ChaincodeServer, store: LedgerStore) -> None:
    with remote_for(server, keepalive_interval=0.001) as remote:
        for n in range(20):
            assert run(remote, store, f"t{n}", "get", "absent")[0] == Response(200)


def test_the_ledger_runs_a_remote_chaincode_like_a_local_one(server: ChaincodeServer) -> None:
    with EmbeddedLedger.open(None, channel_id=CHANNEL) as ledger, remote_for(server) as remote:
        ledger.install("probe", remote)
        alice = ledger.identities.enroll("alice", "Org1MSP", {})
        assert ledger.submit(alice, "probe", "put", ["k", "v"]).payload == b"stored"
        assert ledger.evaluate(alice, "probe", "get", ["k"]).payload == b"v"
        (event,) = ledger.chaincode_events("probe")
        assert (event.name, event.payload) == ("put", b"k")
        assert ledger.evaluate(alice, "probe", "nothing").status == 404
