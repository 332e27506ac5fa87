"""Server settings from the environment, TLS and mutual TLS over real connections, lifecycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import grpc
import pytest
from fabric_shim.chaincode import Response, success
from fabric_shim.config import MAX_MESSAGE_SIZE, ServerConfig, TLSConfig
from fabric_shim.errors import ConfigError
from fabric_shim.server import ChaincodeServer
from fabric_shim.stub import ChaincodeStub
from peer_double import Message, StreamEnded, WorldState, response_of
from shim_pki import common_name, issue


class Pong:
    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        return success(b"pong")


@pytest.fixture
def tls_files(tmp_path: Path, pki) -> dict[str, str]:
    files = {
        "CHAINCODE_TLS_KEY": pki.server.key_pem,
        "CHAINCODE_TLS_CERT": pki.server.cert_pem,
        "CHAINCODE_CLIENT_CA_CERT": pki.ca.cert_pem,
    }
    paths = {}
    for name, content in files.items():
        path = tmp_path / name.lower()
        path.write_bytes(content)
        path.chmod(0o600)
        paths[name] = str(path)
    return paths


def test_from_env_plaintext() -> None:
    config = ServerConfig.from_env(
        {
            "CHAINCODE_SERVER_ADDRESS": "0.0.0.0:9999",
            "CHAINCODE_ID": "cc:abc",
            "CHAINCODE_TLS_DISABLED": "TRUE",
        }
    )
    assert (config.address, config.chaincode_id, config.tls) == ("0.0.0.0:9999", "cc:abc", None)
    assert config.max_message_size == MAX_MESSAGE_SIZE == 100 * 1024 * 1024


def test_from_env_mutual_tls(tls_files: dict[str, str], pki) -> None:
    config = ServerConfig.from_env(
        {"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0", "CHAINCODE_ID": "cc:abc", **tls_files}
    )
    assert config.tls is not None and config.tls.mutual
    assert config.tls.cert == pki.server.cert_pem


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"CHAINCODE_ID": "cc"}, "CHAINCODE_SERVER_ADDRESS must be set"),
        ({"CHAINCODE_SERVER_ADDRESS": "h:1"}, "CHAINCODE_ID must be set"),
        (
            {"CHAINCODE_SERVER_ADDRESS": "nohost", "CHAINCODE_ID": "cc", "CHAINCODE_TLS_DISABLED": "true"},
            "host:port",
        ),
        (
            {"CHAINCODE_SERVER_ADDRESS": "h:99999", "CHAINCODE_ID": "cc", "CHAINCODE_TLS_DISABLED": "1"},
            "host:port",
        ),
        (
            {"CHAINCODE_SERVER_ADDRESS": "h:1", "CHAINCODE_ID": "cc", "CHAINCODE_TLS_DISABLED": "maybe"},
            "true or false",
        ),
        (
            {"CHAINCODE_SERVER_ADDRESS": "h:1", "CHAINCODE_ID": "cc"},
            "CHAINCODE_TLS_KEY must be set because TLS",
        ),
        (
            {
                "CHAINCODE_SERVER_ADDRESS": "h:1",
                "CHAINCODE_ID": "cc",
                "CHAINCODE_TLS_KEY": "/nonexistent/key",
                "CHAINCODE_TLS_CERT": "/x",
            },
            "cannot read the TLS key",
        ),
    ],
)
def test_from_env_errors_name_the_setting(environ: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        ServerConfig.from_env(environ)


def test_tls_config_rejects_non_pem(pki) -> None:
    with pytest.raises(ConfigError, match="TLS key"):
        TLSConfig(key=b"not a key", cert=pki.server.cert_pem)
    with pytest.raises(ConfigError, match="client CA"):
        TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem, client_ca_cert=b"junk")


def test_mutual_tls_accepts_a_client_of_the_ca(serve, connect, pki) -> None:
    tls = TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem, client_ca_cert=pki.ca.cert_pem)
    server = serve(Pong(), tls=tls)
    credentials = grpc.ssl_channel_credentials(pki.ca.cert_pem, pki.client.key_pem, pki.client.cert_pem)
    peer = connect(server, credentials)
    peer.handshake()
    assert response_of(peer.transact(WorldState(), [b"ping"], txid="t1")).payload == b"pong"


@pytest.mark.parametrize("client", ["none", "rogue"])
def test_mutual_tls_refuses_other_clients(serve, connect, pki, client: str) -> None:
    tls = TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem, client_ca_cert=pki.ca.cert_pem)
    server = serve(Pong(), tls=tls)
    if client == "none":
        credentials = grpc.ssl_channel_credentials(pki.ca.cert_pem)
    else:
        credentials = grpc.ssl_channel_credentials(
            pki.ca.cert_pem, pki.rogue_client.key_pem, pki.rogue_client.cert_pem
        )
    peer = connect(server, credentials)
    with pytest.raises(StreamEnded) as ended:
        peer.receive()
    assert ended.value.error is not None
    assert ended.value.error.code() == grpc.StatusCode.UNAVAILABLE


def test_client_names_admit_only_the_named_client_of_the_ca(serve, connect, pki) -> None:
    tls = TLSConfig(
        key=pki.server.key_pem,
        cert=pki.server.cert_pem,
        client_ca_cert=pki.ca.cert_pem,
        client_names=frozenset({"chaincode-client.example"}),
    )
    server = serve(Pong(), tls=tls)
    named = issue(pki.ca, common_name("chaincode-client.example"), client=True)
    peer = connect(server, grpc.ssl_channel_credentials(pki.ca.cert_pem, named.key_pem, named.cert_pem))
    peer.handshake()
    assert response_of(peer.transact(WorldState(), [b"ping"], txid="t1")).payload == b"pong"
    # Another client of the same CA (an admin's or a node's TLS certificate) gets no stream.
    other = connect(
        server, grpc.ssl_channel_credentials(pki.ca.cert_pem, pki.client.key_pem, pki.client.cert_pem)
    )
    with pytest.raises(StreamEnded) as ended:
        other.receive()
    assert ended.value.error is not None
    assert ended.value.error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "peer0.example" in (ended.value.error.details() or "")


def test_client_names_from_env_need_a_client_ca(tls_files: dict[str, str]) -> None:
    environ = {"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0", "CHAINCODE_ID": "cc:abc", **tls_files}
    config = ServerConfig.from_env(environ | {"CHAINCODE_CLIENT_CN": " a.example, b.example ,"})
    assert config.tls is not None and config.tls.client_names == {"a.example", "b.example"}
    without_ca = {k: v for k, v in environ.items() if k != "CHAINCODE_CLIENT_CA_CERT"}
    with pytest.raises(ConfigError, match="CHAINCODE_CLIENT_CN"):
        ServerConfig.from_env(without_ca | {"CHAINCODE_CLIENT_CN": "a.example"})


def test_server_only_tls_and_plaintext_client_refused(serve, connect, pki) -> None:
    server = serve(Pong(), tls=TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem))
    peer = connect(server, grpc.ssl_channel_credentials(pki.ca.cert_pem))
    assert peer.receive().type == Message.REGISTER
    plaintext = connect(server)
    with pytest.raises(StreamEnded):
        plaintext.receive()


def test_context_manager_port_and_stop() -> None:
    config = ServerConfig(address="127.0.0.1:0", chaincode_id="cc:1")
    with ChaincodeServer(Pong(), config) as server:
        assert server.port > 0
        assert server.wait(timeout=0.05) is False
    assert server.wait(timeout=1) is True


def test_run_serves_from_env_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, sys
            from fabric_shim.chaincode import success
            from fabric_shim.server import run

            class Pong:
                def init(self, stub): return success()
                def invoke(self, stub): return success(b"pong")

            logging.basicConfig(level=logging.INFO, stream=sys.stderr)
            run(Pong())
            print("stopped", flush=True)
            """
        )
    )
    env = {
        **os.environ,
        "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0",
        "CHAINCODE_ID": "cc:1",
        "CHAINCODE_TLS_DISABLED": "true",
    }
    process = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        line = ""
        while "serving on" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()  # type: ignore[union-attr]
        assert "serving on" in line
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert stdout.strip() == "stopped"
