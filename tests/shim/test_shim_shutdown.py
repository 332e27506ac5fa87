"""Stopping the chaincode server: prompt when idle, safe for transactions in flight."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import grpc
import pytest
from fabric_shim.chaincode import Response, success
from fabric_shim.handler import SHUTTING_DOWN_MESSAGE
from fabric_shim.stub import ChaincodeStub
from peer_double import CHANNEL_OPTIONS, Message, PeerDouble, StreamEnded, WorldState, response_of


class GateChaincode:
    """`gated`: waits until the test opens the gate, then reads "k"; anything else answers at once."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.left = threading.Event()

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        if stub.function == "gated":
            self.entered.set()
            self.gate.wait(60)
            self.left.set()
            return success(stub.get_state("k") or b"<absent>")
        return success(b"pong")


def test_in_flight_transaction_completes_and_new_ones_are_refused(serve, connect) -> None:
    chaincode = GateChaincode()
    server = serve(chaincode)
    peer = connect(server)
    peer.handshake()
    peer.start_transaction([b"gated"], txid="in-flight")
    assert chaincode.entered.wait(5)

    stopper = threading.Thread(target=server.stop, kwargs={"grace": 5.0})
    stopper.start()
    # stop() runs on its own thread, so poll (rather than sleep a guessed time) until a new
    # transaction is refused; until then each ping is still served normally.
    deadline = time.monotonic() + 5
    for attempt in itertools.count():
        txid = f"too-late-{attempt}"
        peer.start_transaction([b"ping"], txid=txid, channel_id="other")
        refused = peer.receive()
        if refused.type != Message.COMPLETED or time.monotonic() > deadline:
            break
        assert response_of(refused).payload == b"pong"
        time.sleep(0.01)
    assert (refused.type, refused.txid, refused.channel_id) == (Message.ERROR, txid, "other")
    assert refused.payload.decode() == SHUTTING_DOWN_MESSAGE

    chaincode.gate.set()
    completed = peer.serve_until_done(WorldState(state={"k": b"v"}), "in-flight")
    assert response_of(completed).payload == b"v"
    with pytest.raises(StreamEnded) as ended:
        peer.receive()
    assert ended.value.error is None  # the chaincode ended the stream cleanly (OK status)
    stopper.join(5)
    assert not stopper.is_alive()


def test_idle_stream_stops_at_once(serve, connect) -> None:
    server = serve(GateChaincode())
    peer = connect(server)
    peer.handshake()
    assert response_of(peer.transact(WorldState(), [b"ping"], txid="t1")).payload == b"pong"
    # With nothing in flight, stop() does not wait out its grace: it returns, and the stream ends, long
    # before an hour (the join's bound is only there so that a hang fails instead of blocking the run).
    stopper = threading.Thread(target=server.stop, kwargs={"grace": 3600.0})
    stopper.start()
    with pytest.raises(StreamEnded):
        peer.receive()
    stopper.join(60)
    assert not stopper.is_alive()


def test_transaction_outliving_the_grace_is_cut_off(serve, connect) -> None:
    chaincode = GateChaincode()
    server = serve(chaincode)
    peer = connect(server)
    peer.handshake()
    peer.start_transaction([b"gated"], txid="slow")
    assert chaincode.entered.wait(5)
    server.stop(grace=0.3)
    # stop() returned while the transaction is still inside the chaincode: it was cut off, not waited for.
    assert not chaincode.left.is_set()
    chaincode.gate.set()
    with pytest.raises(StreamEnded):
        peer.receive()


def test_sigterm_stops_an_idle_run_with_a_connected_peer_promptly(tmp_path: Path) -> None:
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
            """
        )
    )
    env = {
        **os.environ,
        "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0",
        "CHAINCODE_ID": "cc:1",
        "CHAINCODE_TLS_DISABLED": "true",
    }
    process = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)
    channel = None
    try:
        deadline = time.monotonic() + 10
        line = ""
        while "serving on port" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()  # type: ignore[union-attr]
        port = int(line.split("serving on port ")[1].split()[0])
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
        peer = PeerDouble(channel)
        peer.handshake()
        assert response_of(peer.transact(WorldState(), [b"ping"], txid="t1")).payload == b"pong"
        # The connected peer's idle stream does not hold the process: it exits cleanly on SIGTERM (the
        # wait's bound only turns a hang into a failure).
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()  # type: ignore[union-attr]
        if channel is not None:
            channel.close()
