"""The chaincode server's Prometheus metrics move as a peer (the double) runs transactions."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2, proposal_response_pb2
from fabric_shim.chaincode import Response, error, success
from fabric_shim.errors import ConfigError
from fabric_shim.metrics import MetricsConfig, ShimMetrics, metrics_config_from_env, serve_metrics
from fabric_shim.server import ChaincodeServer
from fabric_shim.stub import ChaincodeStub
from hypothesis import given
from hypothesis import strategies as st
from peer_double import Message, WorldState, response_of
from polling import wait_for


class Counter:
    """`bump KEY`: reads KEY, writes KEY+1 (two ledger calls); `fail`: 400; `crash`: raises."""

    def init(self, stub: ChaincodeStub) -> Response:
        return error("init refuses")

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, params = stub.get_function_and_parameters()
        if function == "bump":
            value = int(stub.get_state(params[0]) or b"0") + 1
            stub.put_state(params[0], str(value).encode())
            return success(str(value).encode())
        if function == "crash":
            raise RuntimeError("boom")
        return error("no such function", status=400)


def sample(metrics: ShimMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def observed(serve) -> tuple[ChaincodeServer, ShimMetrics]:
    metrics = ShimMetrics()
    server = serve(Counter(), observer=metrics)
    return server, metrics


def test_transactions_are_counted_by_function_and_status(observed, connect) -> None:
    server, metrics = observed
    peer = connect(server)
    peer.handshake()
    world = WorldState()
    for n in range(3):
        assert response_of(peer.transact(world, [b"bump", b"k"], txid=f"b{n}")).payload == str(n + 1).encode()
    assert response_of(peer.transact(world, [b"nope"], txid="f1")).status == 400
    assert response_of(peer.transact(world, [b"crash"], txid="c1")).status == 500
    assert peer.transact(world, [], txid="i1", msg_type=Message.INIT).type == Message.ERROR

    assert sample(metrics, "chaincode_transactions_total", function="bump", status="200") == 3
    assert sample(metrics, "chaincode_transactions_total", function="nope", status="400") == 1
    assert sample(metrics, "chaincode_transactions_total", function="crash", status="500") == 1
    assert sample(metrics, "chaincode_transactions_total", function="init", status="error") == 1
    assert sample(metrics, "chaincode_transaction_duration_seconds_count", function="bump") == 3
    assert sample(metrics, "chaincode_transaction_duration_seconds_sum", function="bump") > 0
    # Each bump reads and writes its key: 2 calls each, none for the others.
    assert sample(metrics, "chaincode_ledger_calls_per_transaction_sum", function="bump") == 6
    assert sample(metrics, "chaincode_ledger_calls_per_transaction_count", function="bump") == 3
    assert sample(metrics, "chaincode_ledger_calls_per_transaction_bucket", function="bump", le="1.0") == 0
    assert sample(metrics, "chaincode_ledger_calls_per_transaction_bucket", function="bump", le="2.0") == 3
    assert sample(metrics, "chaincode_ledger_calls_per_transaction_sum", function="nope") == 0
    assert sample(metrics, "chaincode_ledger_calls_total", type="GET_STATE") == 3
    assert sample(metrics, "chaincode_ledger_calls_total", type="PUT_STATE") == 3


def test_stream_reconnections_are_counted(observed, connect) -> None:
    server, metrics = observed
    first = connect(server)
    first.handshake()
    wait_for(
        lambda: sample(metrics, "chaincode_streams_open") == 1, "the first stream counted open", 10, 0.01
    )
    first.close()
    wait_for(
        lambda: sample(metrics, "chaincode_streams_open") == 0, "the first stream counted closed", 10, 0.01
    )
    second = connect(server)
    second.handshake()
    assert response_of(second.transact(WorldState(), [b"bump", b"k"], txid="t")).status == 200
    assert sample(metrics, "chaincode_streams_opened_total") == 2
    assert sample(metrics, "chaincode_streams_open") == 1


def test_invented_function_names_do_not_grow_the_labels(serve, connect) -> None:
    metrics = ShimMetrics(max_functions=2)
    peer = connect(serve(Counter(), observer=metrics))
    peer.handshake()
    world = WorldState()
    for n, name in enumerate([b"bump", b"a", b"b", b"c", b"\xff\xfe", b"x" * 65]):
        peer.transact(world, [name, b"k"], txid=f"t{n}")
    assert sample(metrics, "chaincode_transactions_total", function="bump", status="200") == 1
    assert sample(metrics, "chaincode_transactions_total", function="a", status="400") == 1
    assert sample(metrics, "chaincode_transactions_total", function="other", status="400") == 3
    # Undecodable bytes are no name: the chaincode itself fails on them.
    assert sample(metrics, "chaincode_transactions_total", function="other", status="500") == 1
    functions = {
        s.labels["function"]
        for family in metrics.registry.collect()
        if family.name == "chaincode_transactions"
        for s in family.samples
    }
    assert functions == {"bump", "a", "other"}


def test_a_server_without_observer_still_serves(serve, connect) -> None:
    peer = connect(serve(Counter()))
    peer.handshake()
    assert response_of(peer.transact(WorldState(), [b"bump", b"k"], txid="t")).payload == b"1"


def _pem_files(tmp_path: Path, pki) -> dict[str, str]:
    files = {
        "cert": pki.server.cert_pem,
        "key": pki.server.key_pem,
        "ca": pki.ca.cert_pem,
        "client_cert": pki.client.cert_pem,
        "client_key": pki.client.key_pem,
        "rogue_cert": pki.rogue_client.cert_pem,
        "rogue_key": pki.rogue_client.key_pem,
    }
    paths = {}
    for name, content in files.items():
        path = tmp_path / f"{name}.pem"
        path.write_bytes(content)
        path.chmod(0o600)
        paths[name] = str(path)
    return paths


def _scrape(port: int, context: ssl.SSLContext | None) -> str:
    scheme = "http" if context is None else "https"
    with urllib.request.urlopen(f"{scheme}://localhost:{port}/metrics", timeout=5, context=context) as answer:
        return str(answer.read().decode())


def test_the_endpoint_serves_plaintext_metrics(observed, connect) -> None:
    server, metrics = observed
    peer = connect(server)
    peer.handshake()
    peer.transact(WorldState(), [b"bump", b"k"], txid="t")
    with serve_metrics(MetricsConfig("127.0.0.1:0"), metrics.registry) as endpoint:
        text = _scrape(endpoint.port, None)
    assert 'chaincode_transactions_total{function="bump",status="200"} 1.0' in text


def test_the_endpoint_over_mutual_tls_admits_only_clients_of_the_ca(tmp_path: Path, pki) -> None:
    files = _pem_files(tmp_path, pki)
    metrics = ShimMetrics()
    metrics.stream_opened()
    config = MetricsConfig("127.0.0.1:0", files["cert"], files["key"], files["ca"])
    with serve_metrics(config, metrics.registry) as endpoint:
        trusted = ssl.create_default_context(cafile=files["ca"])
        trusted.load_cert_chain(files["client_cert"], files["client_key"])
        assert "chaincode_streams_opened_total 1.0" in _scrape(endpoint.port, trusted)
        anonymous = ssl.create_default_context(cafile=files["ca"])
        rogue = ssl.create_default_context(cafile=files["ca"])
        rogue.load_cert_chain(files["rogue_cert"], files["rogue_key"])
        for context in (anonymous, rogue):
            with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
                _scrape(endpoint.port, context)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _scrape(endpoint.port, None)  # plaintext to a TLS endpoint


def test_metrics_settings_from_the_environment(tmp_path: Path, pki) -> None:
    files = _pem_files(tmp_path, pki)
    assert metrics_config_from_env({}) is None
    base = {"CHAINCODE_TLS_CERT": files["cert"], "CHAINCODE_TLS_KEY": files["key"]}
    assert metrics_config_from_env({"CHAINCODE_METRICS_ADDRESS": "127.0.0.1:9443", **base}) == MetricsConfig(
        "127.0.0.1:9443", files["cert"], files["key"]
    )
    mutual = metrics_config_from_env(
        {"CHAINCODE_METRICS_ADDRESS": "127.0.0.1:9443", "CHAINCODE_CLIENT_CA_CERT": files["ca"], **base}
    )
    assert mutual is not None and mutual.client_ca_file == files["ca"]
    plain = metrics_config_from_env(
        {"CHAINCODE_METRICS_ADDRESS": "127.0.0.1:9443", "CHAINCODE_TLS_DISABLED": "true", **base}
    )
    assert plain == MetricsConfig("127.0.0.1:9443")
    with pytest.raises(ConfigError, match="host:port"):
        metrics_config_from_env({"CHAINCODE_METRICS_ADDRESS": "9443", **base})
    with pytest.raises(ConfigError, match="both a certificate and a key"):
        metrics_config_from_env(
            {"CHAINCODE_METRICS_ADDRESS": "127.0.0.1:1", "CHAINCODE_TLS_CERT": files["cert"]}
        )
    with pytest.raises(ConfigError, match="cannot read"):
        metrics_config_from_env(
            {"CHAINCODE_METRICS_ADDRESS": "127.0.0.1:1", **base, "CHAINCODE_CLIENT_CA_CERT": "/nonexistent"}
        )


@given(
    st.lists(
        st.tuples(st.binary(max_size=8), st.integers(0, 5), st.sampled_from([200, 400, 500, 1000, None])),
        max_size=40,
    ),
    st.integers(1, 4),
)
def test_every_transaction_and_call_is_counted_once_under_a_bounded_label_set(
    runs: list[tuple[bytes, int, int | None]], max_functions: int
) -> None:
    """Whatever the names, calls and outcomes: the totals add up and the function labels stay bounded."""
    metrics = ShimMetrics(max_functions=max_functions)
    for n, (name, calls, status) in enumerate(runs):
        message = Message(
            type=Message.TRANSACTION,
            payload=chaincode_pb2.ChaincodeInput(args=[name]).SerializeToString(),
            channel_id="ch",
            txid=f"t{n}",
        )
        metrics.transaction_started(message)
        for _ in range(calls):
            metrics.ledger_call("ch", f"t{n}", Message.GET_STATE)
        metrics.ledger_call("ch", "not-running", Message.PUT_STATE)  # another stream's: counted by type only
        if status is None:
            reply = Message(type=Message.ERROR, txid=f"t{n}", channel_id="ch")
        else:
            payload = proposal_response_pb2.Response(status=status).SerializeToString()
            reply = Message(type=Message.COMPLETED, payload=payload, txid=f"t{n}", channel_id="ch")
        metrics.transaction_finished(message, reply)
    samples = [s for f in metrics.registry.collect() for s in f.samples]
    transactions = [s for s in samples if s.name == "chaincode_transactions_total"]
    assert sum(s.value for s in transactions) == len(runs)
    assert len({s.labels["function"] for s in transactions} - {"other"}) <= max_functions
    assert {s.labels["status"] for s in transactions} <= {"200", "400", "500", "other", "error"}
    per_transaction = sum(s.value for s in samples if s.name == "chaincode_ledger_calls_per_transaction_sum")
    assert per_transaction == sum(calls for _, calls, _ in runs)
    assert sample(metrics, "chaincode_ledger_calls_total", type="GET_STATE") == per_transaction
    assert sample(metrics, "chaincode_ledger_calls_total", type="PUT_STATE") == len(runs)
    assert metrics._running == {}  # nothing left behind
